"""The digest terms of a run, gathered chunk by chunk as its rows are appended."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from socialcredit.store.duckdb_store import EVENT_DIGEST


@dataclass
class RunDigest:
    """Count, first and last seq, and XOR of the per-event MD5 (``EVENT_DIGEST``) of the rows
    appended so far; ``valid`` is cleared when appended rows are changed afterwards."""

    count: int = 0
    first: int | None = None
    last: int | None = None
    xor: int = 0
    valid: bool = True

    def add(self, con: duckdb.DuckDBPyConnection, rows_sql: str) -> None:
        """Add the rows of a query with the event columns named as in ``events``."""
        count, first, last, xor = con.execute(
            f"SELECT count(*), min(seq), max(seq), bit_xor(md5_number({EVENT_DIGEST})) FROM ({rows_sql})"
        ).fetchall()[0]
        if not count:
            return
        self.count += int(count)
        self.first = int(first) if self.first is None else min(self.first, int(first))
        self.last = int(last) if self.last is None else max(self.last, int(last))
        self.xor ^= int(xor)

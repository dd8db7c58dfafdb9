"""The screening log: every screened row's answer, durably, before the answer is returned.

A screening writes one Arrow IPC file ``<db>.screenings/<screen_id>.arrow`` (fsynced), whose
schema metadata carry the screening's action, party, purpose, as-of date, catalog and data
versions and source (``index``: the decision index over the stored derive; ``derived``: the
screened subjects derived for the date on the fly), and one summary row to the ``decisions``
table (``decision_id`` = ``screen_id``).
Row ``k`` of the screened file has the decision id ``<screen_id>:<k>``.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from socialcredit.store.duckdb_store import DuckDBStore


def new_screen_id() -> str:
    """A unique screening id."""
    return f"scr-{secrets.token_hex(6)}"


def screening_log_dir(store: DuckDBStore) -> Path:
    """Where per-row screening decisions are kept (next to the database file)."""
    base = Path(store.path)
    return base.with_name(base.name + ".screenings") if str(store.path) != ":memory:" else Path("screenings")


def log_screening(
    store: DuckDBStore,
    screen_id: str,
    *,
    action: str,
    party: str,
    purpose: str | None,
    as_of: date,
    catalog_version: str,
    data_version: str,
    source: str,
    rows: pa.Table,
) -> Path:
    """Write the per-row answers (an Arrow file, fsynced), then the summary row of the decision log."""
    folder = screening_log_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{screen_id}.arrow"
    meta = {
        "screen_id": screen_id,
        "action": action,
        "party": party,
        "purpose": purpose or "",
        "as_of": str(as_of),
        "catalog_version": catalog_version,
        "data_version": data_version,
        "source": source,
    }
    feather.write_feather(rows.replace_schema_metadata(meta), path, compression="uncompressed")
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
    n = rows.num_rows
    denied = n - int(pc.sum(rows.column("allowed")).as_py() or 0)
    store.con.execute(
        "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
        [
            screen_id,
            datetime.now(UTC),
            party,
            purpose,
            f"screening of {n} codes",
            action,
            denied == 0,
            True,
            as_of,
            catalog_version,
            data_version,
            json.dumps({"rows": n, "restricted": denied, "source": source, "log": str(path)}),
            screen_id,
        ],
    )
    return path


def read_screening(path: Path) -> tuple[dict[str, str], pa.Table]:
    """A logged screening: its metadata and its per-row answers."""
    table = feather.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    return meta, table.replace_schema_metadata(None)

"""Writing the derived tables: the costly string compressions are skipped while they are
written, and the database's own setting is put back afterwards; a full derive keeps the memory
blocks it allocates, as much as the settings say."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from socialcredit.derive import Deriver
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

# unique strings, as identity codes and record identifiers are: many enough for DuckDB to write
# the rows to the file as compressed row groups during the statement
ROWS = "SELECT 'E' || lpad(CAST(i * 7919 % 1000003 AS VARCHAR), 12, '0') || '/document' AS s FROM range(300000) t(i)"


def _string_compressions(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') WHERE segment_type = 'VARCHAR'"
    ).fetchall()
    return {str(r[0]).upper() for r in rows}


def _setting(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()[0][0]).lower()


def test_derived_rows_are_written_without_fsst_and_the_setting_is_put_back(db: Path) -> None:
    settings = Settings(db=db, today=date(2026, 6, 1))
    with DuckDBStore(db, settings) as store:
        con = store.con
        con.execute("SET disabled_compression_methods = 'chimp'")  # an operator's own choice
        deriver = Deriver(store)
        con.execute(f"CREATE TABLE plain AS {ROWS}")
        with deriver._writing():
            assert "fsst" in _setting(con)
            con.execute(f"CREATE TABLE derived AS {ROWS}")
        con.execute("CHECKPOINT")
        assert any("FSST" in c for c in _string_compressions(con, "plain"))
        written = _string_compressions(con, "derived")
        assert written
        assert not any("FSST" in c for c in written)
        assert _setting(con) == "chimp"
        with pytest.raises(duckdb.CatalogException), deriver._writing():
            con.execute("SELECT * FROM no_such_table")
        assert _setting(con) == "chimp"
        summary = deriver.materialize(date(2026, 6, 1), full=True)
        assert summary.mode == "full"
        assert _setting(con) == "chimp"


def _kept(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_setting('block_allocator_memory')").fetchall()[0][0])


def _size(text: str) -> int:
    """Bytes of a size as DuckDB shows its settings ("953.6 MiB", "0 bytes")."""
    number, unit = text.split()
    scale = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]
    return int(float(number) * scale)


def test_a_full_derive_keeps_its_blocks_up_to_the_memory_limit_by_default(db: Path) -> None:
    settings = Settings(db=db, today=date(2026, 6, 1), memory_limit="1GB")
    with DuckDBStore(db, settings) as store:
        assert _size(_kept(store.con)) == 0
        Deriver(store).refresh(["110101199003074514"])  # nothing stored yet: no derive
        assert _size(_kept(store.con)) == 0
        Deriver(store).materialize(date(2026, 6, 1), full=True)
        assert abs(_size(_kept(store.con)) - 10**9) < 2**20
        # the engine cannot lower it: a later derive asking for less goes on with what is kept
        store.settings = Settings(db=db, today=date(2026, 6, 1), memory_limit="1GB", block_allocator_memory="100MB")
        Deriver(store).materialize(date(2026, 6, 1), full=True)
        assert abs(_size(_kept(store.con)) - 10**9) < 2**20


def test_block_allocator_memory_setting_sizes_or_turns_off_what_a_derive_keeps(db: Path) -> None:
    with DuckDBStore(db, Settings(db=db, today=date(2026, 6, 1), block_allocator_memory="300MB")) as store:
        Deriver(store).materialize(date(2026, 6, 1), full=True)
        assert abs(_size(_kept(store.con)) - 300 * 10**6) < 2**20
    with DuckDBStore(db, Settings(db=db, today=date(2026, 6, 1), block_allocator_memory="0")) as store:
        Deriver(store).materialize(date(2026, 6, 1), full=True)
        assert _size(_kept(store.con)) == 0

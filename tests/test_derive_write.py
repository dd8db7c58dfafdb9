"""Writing the derived tables: the costly string compressions are skipped while they are
written, and the database's own setting is put back afterwards."""

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

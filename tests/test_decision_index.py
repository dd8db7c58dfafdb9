"""The decision index answers from the stored state it was built on, even when a newer index
shares its database connection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from socialcredit.catalog import load_default
from socialcredit.decide.index import DecisionIndex
from socialcredit.derive import Deriver
from socialcredit.ingest import ingest_files
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import person, write_csv

P = person()
AS_OF = date(2025, 6, 1)


def test_an_older_index_keeps_answering_from_its_own_state(tmp_path: Path) -> None:
    """Index A is built while P is a judgment defaulter; P's listing is then deleted early and
    index B is built and screens. A screens again afterwards: it still answers from A's state
    (P restricted), not from the look-up table B left on the same connection."""
    conf = Settings(db=tmp_path / "x.duckdb", today=date(2026, 11, 26))
    listed = {
        "event_id": "C1",
        "source": "court",
        "subject_id": P,
        "subject_name": "王芳",
        "type": "court.defaulter",
        "decided_on": "2025-01-02",
        "document_no": "(2025)京0105执1号",
        "ground": "2",
    }
    delisted = {
        "event_id": "C2",
        "source": "court",
        "action": "delist",
        "record_id": "C1",
        "decided_on": "2025-03-01",
        "reason": "early_deletion",
    }
    codes = pa.array([P, person(seq=2)], pa.string())
    with DuckDBStore(conf.db, conf) as store:
        store.migrate()
        store.store_catalog(load_default())
        ingest_files(store, [write_csv(tmp_path / "a.csv", [listed])], tmp_path / "a.rej")
        Deriver(store).materialize(AS_OF)
        older = DecisionIndex(store, party="test")
        first = older.answer(codes, "flight.economy")
        assert first.column("allowed").to_pylist() == [False, True]
        assert first.column("known").to_pylist() == [True, False]

        ingest_files(store, [write_csv(tmp_path / "b.csv", [delisted])], tmp_path / "b.rej")
        Deriver(store).materialize(AS_OF)
        newer = DecisionIndex(store, party="test")
        assert newer.data_version != older.data_version
        assert newer.answer(codes, "flight.economy").column("allowed").to_pylist() == [True, True]

        again = older.answer(codes, "flight.economy")
        assert again.column("allowed").to_pylist() == [False, True]
        assert older.check(P, "flight.economy").allowed is False
        assert newer.answer(codes, "flight.economy").column("allowed").to_pylist() == [True, True]

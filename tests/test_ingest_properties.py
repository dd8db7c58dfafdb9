"""Invariants of ingestion on generated batches (Hypothesis), in-process on real DuckDB files:
counts add up, nothing is lost or duplicated, re-ingesting is idempotent, and the result does
not depend on how the file is cut into chunks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import load_default
from socialcredit.ingest import ingest_files
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import org, person, write_csv

PEOPLE = [person("110105", f"19{70 + i}0101", i) for i in range(5)]
ORGS = [org(f"91110105MA000000{i}") for i in range(3)]
_counter = itertools.count()


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["traffic", "defaulter", "penalty", "follow", "junk"]))
    event_id = f"E{draw(st.integers(0, 40))}"
    subject = draw(st.sampled_from([*PEOPLE, *ORGS, "110105198001010000", "not-a-code"]))
    decided = draw(st.sampled_from(["2024-01-02", "2025-06-30", "2025-02-30", "2099-01-01", ""]))
    base = {"event_id": event_id, "subject_id": subject, "subject_name": draw(st.sampled_from(["王芳", "李强", ""]))}
    if kind == "traffic":
        return {**base, "source": "traffic", "type": "traffic.violation", "decided_on": decided}
    if kind == "defaulter":
        return {
            **base,
            "source": "court",
            "type": "court.defaulter",
            "decided_on": decided,
            "ground": str(draw(st.integers(0, 7))),
            "extension_years": draw(st.sampled_from(["", "0", "1", "3", "4"])),
        }
    if kind == "penalty":
        return {
            **base,
            "source": "market",
            "type": "admin.penalty",
            "decided_on": decided,
            "severity": draw(st.sampled_from(["minor", "general", "serious", "huge"])),
        }
    if kind == "follow":
        return {
            "event_id": f"F{draw(st.integers(0, 40))}",
            "source": draw(st.sampled_from(["court", "traffic", "market"])),
            "action": draw(st.sampled_from(["perform", "revoke", "delist", "correct"])),
            "record_id": f"E{draw(st.integers(0, 40))}",
            "decided_on": decided,
        }
    return {**base, "source": draw(st.sampled_from(["nobody", "court"])), "type": "x.y", "decided_on": decided}


def run(tmp: Path, files: list[Path], chunk_rows: int) -> tuple[list[dict[str, Any]], Path]:
    db = tmp / f"db{next(_counter)}.duckdb"
    conf = Settings(db=db, ingest_chunk_rows=chunk_rows, today="2026-11-26")
    summaries = []
    with DuckDBStore(db, conf) as store:
        store.migrate()
        store.store_catalog(load_default())
        for f in files:
            rej = tmp / f"rej{next(_counter)}.jsonl"
            summaries.append(ingest_files(store, [f], rej).model_dump())
    return summaries, db


def stored(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT source, event_id, action, record_id, subject_id, type, decided_on, attrs FROM events "
            "ORDER BY source, event_id"
        ).fetchall()
    finally:
        con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows(), min_size=1, max_size=60))
def test_counts_add_up_nothing_lost_and_idempotent(tmp_path_factory: Any, batch: list[dict[str, Any]]) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    path = write_csv(tmp / "batch.csv", batch)
    summaries, db = run(tmp, [path, path], chunk_rows=1000)
    first, second = summaries
    for s in summaries:
        assert s["accepted"] + s["duplicates"] + s["rejected"] == s["rows"] == len(batch)
    events = stored(db)
    assert len(events) == first["accepted"]
    assert len({(e[0], e[1]) for e in events}) == len(events)  # no key twice
    assert second["accepted"] == 0
    assert second["duplicates"] == first["accepted"] + first["duplicates"]
    assert second["rejected"] == first["rejected"]
    rejects = [json.loads(line) for line in Path(first["rejects"]).read_text().splitlines()] if first["rejects"] else []
    assert len(rejects) == first["rejected"]
    assert all(r["errors"] and r["line"] >= 2 for r in rejects)


def test_result_does_not_depend_on_chunking(tmp_path: Path) -> None:
    import random

    rnd = random.Random(5)
    batch: list[dict[str, Any]] = []
    for i in range(3000):
        p = rnd.choice(PEOPLE)
        if i % 7 == 0:
            batch.append(
                {
                    "event_id": f"F{i}",
                    "source": "court",
                    "action": "perform",
                    "record_id": f"C{(i * 13) % 3000}",
                    "decided_on": "2025-06-01",
                }
            )
        elif i % 3 == 0:
            batch.append(
                {
                    "event_id": f"C{i}",
                    "source": "court",
                    "subject_id": p,
                    "subject_name": "王芳",
                    "type": "court.defaulter",
                    "decided_on": "2025-01-02",
                    "ground": str(rnd.randint(1, 7)),
                }
            )
        else:
            batch.append(
                {
                    "event_id": f"T{i % 2500}",
                    "source": "traffic",
                    "subject_id": p,
                    "subject_name": "王芳",
                    "type": "traffic.violation",
                    "decided_on": rnd.choice(["2025-01-02", "2025-01-03"]),
                }
            )
    path = write_csv(tmp_path / "big.csv", batch)
    (small,), db_small = run(tmp_path, [path], chunk_rows=1000)
    (large,), db_large = run(tmp_path, [path], chunk_rows=100_000)
    for key in ("rows", "accepted", "duplicates", "rejected", "errors_by_code"):
        assert small[key] == large[key], key
    assert stored(db_small) == stored(db_large)
    assert small["accepted"] > 1000
    assert small["errors_by_code"].get("unknown_record", 0) > 0

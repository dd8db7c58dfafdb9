"""The row check ingest evaluates on every row is a cheaper form of the full checks (see
``row_checks(fast=True)``): on generated rows of every record type, action and source, valid and
not, an ingest with the cheaper form accepts, rejects and stores exactly what an ingest with the
full form does, from CSV and from JSON Lines (whose staging computes the attributes given in
SQL rather than in Arrow)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import load_default
from socialcredit.catalog.models import AttributeSpec
from socialcredit.ingest.pipeline import Ingestor, RejectsWriter
from socialcredit.ingest.reading import CORE_COLUMNS, attribute_names
from socialcredit.ingest.sqlgen import ACTIONS, attrs_for, attrs_json, given_bits, row_checks
from socialcredit.settings import Settings, today
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import org, person, write_csv

CATALOG = load_default()
ATTRIBUTES = attribute_names(CATALOG)
PEOPLE = [person("110105", f"19{70 + i}0101", i) for i in range(3)] + [person("110105", "20150101", 9)]
ORGS = [org(f"91110105MA000000{i}") for i in range(2)]
_counter = itertools.count()


def _values(name: str) -> list[str]:
    """Valid and invalid text for an attribute, whatever type declares it."""
    pool = {"", " ", "x", "-1", "0", "1", "2", "3", "4", "6", "7", "1.5", "2025-01-31", "2025-02-30", "true", "no"}
    pool |= {"maybe", "flight.*;rail.g.*", "flight.*", "not a pattern!", PEOPLE[0], "110105198001010000"}
    for rt in CATALOG.record_types.values():
        specs = [rt.attributes, *(fu.attributes for fu in rt.follow_ups.values())]
        for spec in (s[name] for s in specs if name in s):
            pool.update(spec.values or [])
    return sorted(pool)


VALUES = {name: _values(name) for name in ATTRIBUTES}


def _valid(spec: AttributeSpec) -> str:
    """A value the attribute accepts (constraints between attributes aside)."""
    if spec.type in ("integer", "number"):
        return str(int(spec.min if spec.min is not None else 1))
    return {
        "date": "2025-01-31",
        "boolean": "true",
        "identity": PEOPLE[0],
        "list": "flight.*;rail.g.*" if spec.items == "action_pattern" else ";".join(spec.values or ["x"]),
        "enum": (spec.values or ["x"])[-1],
    }.get(spec.type, "some text")


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """A row that is valid by construction (bar constraints between attributes and records
    that do not exist), then, usually, broken in one way."""
    code = draw(st.sampled_from(sorted(CATALOG.record_types)))
    rt = CATALOG.record_types[code]
    action = draw(st.sampled_from(["create", "create", *rt.follow_ups]))
    kind = draw(st.sampled_from(rt.subjects))
    row: dict[str, Any] = {
        "event_id": f"E{draw(st.integers(0, 30))}",
        "source": draw(st.sampled_from(rt.sources)),
        "action": action,
        "record_id": f"E{draw(st.integers(0, 30))}" if action != "create" else "",
        "subject_id": draw(st.sampled_from(PEOPLE if kind == "person" else ORGS)),
        "subject_name": "王芳",
        "type": code,
        "decided_on": draw(st.sampled_from(["2020-05-01", "2025-06-30"])),
        "amount": "100" if rt.amount == "required" else "",
        "quantity": "1" if rt.quantity == "required" else "",
    }
    specs = attrs_for(rt, action)
    for name, spec in specs.items():
        if spec.required or draw(st.booleans()):
            row[name] = _valid(spec)
    change = draw(st.sampled_from(["none", "none", "field", "attribute", "foreign_attribute", "source", "action"]))
    if change == "field":
        field = draw(st.sampled_from(["source", "action", "subject_id", "subject_kind", "type", "decided_on"]))
        row[field] = draw(
            st.sampled_from(
                {
                    "source": [*CATALOG.sources, "nobody", ""],
                    "action": [*ACTIONS, "", "CREATE", "explode"],
                    "subject_id": [*PEOPLE, *ORGS, "110105198001010000", ""],
                    "subject_kind": ["person", "organisation", "robot"],
                    "type": [*CATALOG.record_types, "x.y", ""],
                    "decided_on": ["2025-02-30", "2099-01-01", "", "2025-1-5"],
                }[field]
            )
        )
        row["amount"] = draw(st.sampled_from([row["amount"], "12.345", "-5", "abc", "7"]))
        row["quantity"] = draw(st.sampled_from([row["quantity"], "2.5", "0", "x", "3"]))
    elif change in ("attribute", "foreign_attribute"):
        names = sorted(specs) if change == "attribute" and specs else ATTRIBUTES
        name = draw(st.sampled_from(names))
        row[name] = draw(st.sampled_from(VALUES[name]))
    elif change == "source":
        row["source"] = draw(st.sampled_from(list(CATALOG.sources)))
    elif change == "action":
        row["action"] = draw(st.sampled_from(ACTIONS))
        row["record_id"] = draw(st.sampled_from(["", "E1", "E2"]))
    return row


def _ingest(tmp: Path, path: Path, full: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(rejected rows as (index, errors), stored events) of one ingest; ``full``: with the
    full checks as the row check instead of the fast form."""
    db = tmp / f"db{next(_counter)}.duckdb"
    with DuckDBStore(db, Settings(db=db, today="2026-11-26")) as store:
        store.migrate()
        store.store_catalog(CATALOG)
        ingestor = Ingestor(store)
        if full:
            ingestor._fast = ingestor._plan
            ingestor._bad = ingestor._plan.bad()
            ingestor._typed = {}
            ingestor._attrs_json = attrs_json(ingestor.catalog)
        rejects = tmp / f"rej{next(_counter)}.jsonl"
        summary = ingestor.ingest_file(path, RejectsWriter(rejects))
        assert summary.status == "ok", summary.error
    offset = 2 if path.suffix == ".csv" else 1  # the header line / none
    rejected = sorted(
        (r["line"] - offset, json.dumps(r["errors"], sort_keys=True))
        for r in map(json.loads, rejects.read_text(encoding="utf-8").splitlines() if rejects.exists() else [])
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        events = con.execute(
            "SELECT seq, source, event_id, action, record_id, subject_id, subject_kind, type, decided_on, "
            "amount, quantity, attrs, line - ? FROM events ORDER BY seq",
            [offset],
        ).fetchall()
    finally:
        con.close()
    return rejected, events


def test_the_fast_form_differs_from_the_full_one() -> None:
    """(guards the comparison below against comparing a form with itself)"""
    day = today(Settings(today="2026-11-26"))
    assert given_bits(CATALOG) is not None
    full, fast = row_checks(CATALOG, day), row_checks(CATALOG, day, fast=True)
    assert len(full.all) == len(fast.all)
    assert "_given" in fast.bad()
    assert "_given" not in full.bad()
    assert "_tv0" in fast.bad()
    assert "_tv0" not in full.bad()
    assert len(fast.bad()) < len(full.bad()) / 2


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows(), min_size=1, max_size=80))
def test_fast_and_full_row_checks_agree(tmp_path_factory: Any, batch: list[dict[str, Any]]) -> None:
    tmp = tmp_path_factory.mktemp("fast")
    csv_path = write_csv(tmp / "batch.csv", batch, header=[*CORE_COLUMNS, *ATTRIBUTES])
    jsonl_path = tmp / "batch.jsonl"
    with jsonl_path.open("w", encoding="utf-8") as fh:
        for row in batch:
            core = {k: v for k, v in row.items() if k not in ATTRIBUTES and v != ""}
            attrs = {k: v for k, v in row.items() if k in ATTRIBUTES}
            fh.write(json.dumps({**core, "attrs": attrs}, ensure_ascii=False) + "\n")
    reference = _ingest(tmp, csv_path, full=True)
    assert _ingest(tmp, csv_path, full=False) == reference
    assert _ingest(tmp, jsonl_path, full=False) == _ingest(tmp, jsonl_path, full=True)


def test_catalogs_with_more_attributes_than_bits_check_the_columns(tmp_path: Path, monkeypatch: Any) -> None:
    """With more attribute names than ``_given`` has bits, ``_given`` is null and the fast form
    tests the attribute columns one by one; verdicts still match the full form."""
    import socialcredit.ingest.pipeline as pipeline
    import socialcredit.ingest.sqlgen as sqlgen

    monkeypatch.setattr(sqlgen, "GIVEN_BITS", 3)
    monkeypatch.setattr(pipeline, "GIVEN_BITS", 3)
    assert given_bits(CATALOG) is None
    fast = row_checks(CATALOG, today(Settings(today="2026-11-26")), fast=True)
    assert "_given" not in fast.bad()
    batch = [
        {
            "event_id": f"T{i}",
            "source": "traffic",
            "subject_id": PEOPLE[0],
            "subject_name": "王芳",
            "type": "traffic.violation",
            "decided_on": "2025-06-30",
            name: value,
        }
        for i, (name, value) in enumerate([("ground", "2"), ("severity", "serious"), ("year", ""), ("role", " ")])
    ]
    path = write_csv(tmp_path / "batch.csv", batch, header=[*CORE_COLUMNS, *ATTRIBUTES])
    rejected, events = _ingest(tmp_path, path, full=False)
    assert (rejected, events) == _ingest(tmp_path, path, full=True)
    assert [r[0] for r in rejected] == [0, 1]  # (an empty or blank attribute is not given)
    assert "attribute_not_allowed" in rejected[0][1]
    assert len(events) == 2

"""Differential test: the SQL derivation against the plain Python model (tests/model.py) on
generated event histories and dates."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.catalog import load_default
from socialcredit.decide.explain import decide as decide_action
from socialcredit.decide.index import DecisionIndex
from socialcredit.derive import Deriver
from socialcredit.ingest import ingest_files
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import org, person, write_csv
from model import derive

PEOPLE = [person("110105", f"19{70 + i}0101", 10 + i) for i in range(3)]
ORG = org("91110105MA0000001")
START = date(2023, 1, 1)
SPAN = 1400  # days: 2023-01-01 .. 2026-11-01
CAT = load_default()
_ids = itertools.count()


def day(n: int) -> str:
    return str(START + timedelta(days=n))


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def create(type_: str, source: str, subject: str, when: int, **attrs: Any) -> str:
        rid = f"R{next(_ids)}"
        rows.append(
            {
                "event_id": rid,
                "source": source,
                "subject_id": subject,
                "subject_name": "名",
                "type": type_,
                "decided_on": day(when),
                **{k: str(v) for k, v in attrs.items()},
            }
        )
        return rid

    def follow(rid: str, source: str, action: str, when: int, **attrs: Any) -> None:
        rows.append(
            {
                "event_id": f"F{next(_ids)}",
                "source": source,
                "action": action,
                "record_id": rid,
                "decided_on": day(when),
                **{k: str(v) for k, v in attrs.items()},
            }
        )

    days = st.integers(0, SPAN)
    for _ in range(draw(st.integers(0, 3))):  # judgment defaulters
        ground = draw(st.integers(1, 6))
        when = draw(days)
        attrs: dict[str, Any] = {"ground": ground, "grace_months": draw(st.integers(0, 3))}
        if ground > 1:
            attrs["extension_years"] = draw(st.integers(0, 3))
        rid = create("court.defaulter", "court", draw(st.sampled_from([*PEOPLE, ORG])), when, **attrs)
        for action in draw(st.lists(st.sampled_from(["perform", "delist", "revoke", "extend"]), max_size=2)):
            later = when + draw(st.integers(0, 900))
            if action == "delist":
                follow(rid, "court", "delist", later, reason="performed")
            elif action == "extend" and ground > 1:
                follow(rid, "court", "extend", later, extension_years=draw(st.integers(1, 3)))
            elif action != "extend":
                follow(rid, "court", action, later)
    for _ in range(draw(st.integers(0, 4))):  # railway violations, repeat fare evasion
        item = draw(st.integers(1, 7))
        when = draw(days)
        rid = create("railway.passenger_violation", "railway", draw(st.sampled_from(PEOPLE[:2])), when, item=item)
        if item in (4, 5, 6) and draw(st.booleans()):
            follow(rid, "railway", "perform", when + draw(st.integers(0, 200)))
    for _ in range(draw(st.integers(0, 2))):  # severe listings, penalties
        when = draw(days)
        rid = create(
            "admin.severe_listing", "market", draw(st.sampled_from([PEOPLE[0], ORG])), when, category="market_order"
        )
        if draw(st.booleans()):
            follow(
                rid,
                "market",
                draw(st.sampled_from(["delist", "repair"])),
                when + draw(st.integers(0, 1200)),
                **({"reason": "other"} if draw(st.booleans()) else {}),
            )
    if draw(st.booleans()):
        create("tax.grade_a", "tax", ORG, draw(days), year=2024)
    if draw(st.booleans()):  # roles and exemptions
        rid = create(
            "registry.role",
            "registry",
            ORG,
            draw(st.integers(0, 400)),
            person_id=PEOPLE[2],
            role=draw(st.sampled_from(["legal_representative", "director", "actual_controller"])),
        )
        if draw(st.booleans()):
            follow(rid, "registry", "delist", draw(st.integers(400, SPAN)), reason="role_ended")
        if draw(st.booleans()):
            create(
                "court.consumption_exemption",
                "court",
                PEOPLE[2],
                draw(days),
                actions="flight.*;hotel.*",
                valid_until=day(draw(st.integers(0, SPAN))),
            )
    if draw(st.booleans()):  # points with consent
        consent = create("consent.scoring", "self", PEOPLE[0], draw(days))
        if draw(st.booleans()):
            follow(consent, "self", "delist", draw(days))
        for type_, source in draw(
            st.lists(
                st.sampled_from(
                    [
                        ("traffic.violation", "traffic"),
                        ("civil.blood_donation", "civil"),
                        ("honor.heroic_act", "civil"),
                        ("public_facility.damage", "utility"),
                        ("utility.arrears", "utility"),
                    ]
                ),
                max_size=4,
            )
        ):
            rid = create(type_, source, PEOPLE[0], draw(days))
            if type_ == "utility.arrears" and draw(st.booleans()):
                follow(rid, "utility", "perform", draw(days))
        when = draw(days)
        penalty = create(
            "admin.penalty", "market", PEOPLE[0], when, severity=draw(st.sampled_from(["minor", "general", "serious"]))
        )
        if draw(st.booleans()):
            follow(penalty, "market", "repair", when + draw(st.integers(0, 900)))
    return rows


def engine(db: Path, as_of: date) -> dict[str, Any]:
    conf = Settings(db=db, today=date(2026, 11, 26))
    with DuckDBStore(db, conf) as store:
        Deriver(store).materialize(as_of)
        con = store.con
        memberships = {
            (s, lst): (since, until)
            for s, lst, since, until in con.execute(
                "SELECT subject_id, list, since, until FROM d_memberships"
            ).fetchall()
        }
        measures = {
            tuple(r)
            for r in con.execute(
                "SELECT subject_id, measure, list, memorandum, via_organisation, via_role, until FROM d_measures"
            ).fetchall()
        }
        scores = {
            s: (score, grade)
            for s, score, grade in con.execute("SELECT subject_id, score, grade FROM d_scores").fetchall()
        }
        exemptions = {tuple(r) for r in con.execute("SELECT subject_id, record_id FROM d_exemptions").fetchall()}
        events = [
            dict(
                zip(
                    (
                        "seq",
                        "source",
                        "event_id",
                        "action",
                        "record_id",
                        "subject_id",
                        "subject_kind",
                        "type",
                        "decided_on",
                        "amount",
                        "quantity",
                        "attrs",
                    ),
                    r,
                    strict=True,
                )
            )
            for r in con.execute(
                "SELECT seq, source, event_id, action, record_id, subject_id, subject_kind, type, decided_on, "
                "amount, quantity, attrs FROM events"
            ).fetchall()
        ]
    for e in events:
        e["amount"] = float(e["amount"]) if e["amount"] is not None else None
    return {
        "memberships": memberships,
        "measures": measures,
        "scores": scores,
        "exemptions": exemptions,
        "events": events,
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(histories(), st.lists(st.integers(0, SPAN + 300), min_size=1, max_size=3))
def test_engine_agrees_with_the_model(tmp_path_factory: Any, rows: list[dict[str, Any]], offsets: list[int]) -> None:
    tmp = tmp_path_factory.mktemp("diff")
    db = tmp / "d.duckdb"
    conf = Settings(db=db, today=date(2026, 11, 26))
    with DuckDBStore(db, conf) as store:
        store.migrate()
        store.store_catalog(CAT)
        if rows:
            ingest_files(store, [write_csv(tmp / "h.csv", rows)], tmp / "rej.jsonl")
    for offset in offsets:
        as_of = START + timedelta(days=offset)
        got = engine(db, as_of)
        want = derive(CAT, got["events"], as_of)
        for key in ("memberships", "scores", "exemptions", "measures"):
            assert got[key] == (set(want[key]) if isinstance(got[key], set) else want[key]), (
                key,
                as_of,
                json.dumps(rows, ensure_ascii=False),
            )


def snapshot(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = ("d_memberships", "d_membership_records", "d_measures", "d_exemptions", "d_scores", "d_next")
        return {t: set(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        con.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(histories(), st.integers(1, 4), st.lists(st.integers(0, 400), min_size=1, max_size=3))
def test_incremental_refresh_and_catch_up_agree_with_a_full_derive(
    tmp_path_factory: Any, rows: list[dict[str, Any]], batches: int, steps: list[int]
) -> None:
    """Ingest in batches after a first derive (each batch refreshes the subjects it touched),
    then let days pass (catch-up): the stored state equals a full derive from scratch."""
    tmp = tmp_path_factory.mktemp("incr")
    today = date(2026, 11, 26)
    first = date(2023, 6, 1)
    conf = Settings(db=tmp / "i.duckdb", today=first)
    with DuckDBStore(conf.db, conf) as store:
        store.migrate()
        store.store_catalog(CAT)
        Deriver(store).materialize(first)
    # batches are ingested "today" (future decisions of the generated history are allowed as
    # the platform's today moves with them)
    ordered = sorted(rows, key=lambda r: r["decided_on"])
    size = max(1, len(ordered) // batches)
    moment = first
    for k in range(0, len(ordered), size):
        part = ordered[k : k + size]
        moment = max(moment, max(date.fromisoformat(r["decided_on"]) for r in part))
        conf = Settings(db=tmp / "i.duckdb", today=moment)
        with DuckDBStore(conf.db, conf) as store:
            ingest_files(store, [write_csv(tmp / f"b{k}.csv", part)], tmp / "rej.jsonl")
    for step in steps:
        moment = min(today, moment + timedelta(days=step))
        conf = Settings(db=tmp / "i.duckdb", today=moment)
        with DuckDBStore(conf.db, conf) as store:
            Deriver(store).materialize(moment)
    incremental = snapshot(tmp / "i.duckdb")
    conf = Settings(db=tmp / "i.duckdb", today=moment)
    with DuckDBStore(conf.db, conf) as store:
        store.con.execute("DELETE FROM derive_state")
        Deriver(store).materialize(moment)
    assert snapshot(tmp / "i.duckdb") == incremental


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(histories(), st.integers(0, SPAN + 300))
def test_decision_index_agrees_with_an_on_the_fly_derive(
    tmp_path_factory: Any, rows: list[dict[str, Any]], offset: int
) -> None:
    """For every subject and every catalogued action, the bit-mask index over the stored tables
    answers as the per-subject derive does, single checks and screening alike; the reasons it
    gives on demand are the same measures."""
    tmp = tmp_path_factory.mktemp("index")
    as_of = START + timedelta(days=offset)
    conf = Settings(db=tmp / "x.duckdb", today=date(2026, 11, 26))
    with DuckDBStore(conf.db, conf) as store:
        store.migrate()
        store.store_catalog(CAT)
        if rows:
            ingest_files(store, [write_csv(tmp / "h.csv", rows)], tmp / "rej.jsonl")
        deriver = Deriver(store)
        deriver.materialize(as_of)
        index = DecisionIndex(store, party="test")
        subjects = sorted({*PEOPLE, ORG, *(r["subject_id"] for r in rows if "subject_id" in r)})
        actions = sorted(CAT.actions)
        for code in subjects:
            derived = deriver.subject(code, as_of, None)
            for action in actions:
                restrictions, incentives, _ = decide_action(CAT, action, derived.measures, derived.exemptions)
                got = index.check(code, action)
                assert got.allowed == (not restrictions), (code, action, as_of)
                assert got.granted == bool(incentives), (code, action, as_of)
                if restrictions:
                    explained = index.explain(got)
                    assert {r["measure"] for r in explained["restrictions"]} == {r["measure"] for r in restrictions}
        assert index.flush() == len(subjects) * len(actions)
        logged = store.con.execute("SELECT count(DISTINCT decision_id) FROM decisions").fetchall()[0][0]
        assert logged == len(subjects) * len(actions)
        for action in actions[:: max(1, len(actions) // 6)]:
            screened = index.answer(pa.array(subjects, pa.string()), action)
            singles = [index.check(code, action) for code in subjects]
            assert screened.column("allowed").to_pylist() == [d.allowed for d in singles]
            assert screened.column("granted").to_pylist() == [d.granted for d in singles]

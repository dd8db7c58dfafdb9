"""Row rules of ingestion: every check of the catalog and the rule bars, through the real CLI
on real files and a real DuckDB database. Each test asserts which rows land and which are
rejected with which code (and that counts add up)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import codes_by_event, event_count, ingest, org, person, read_rejects, run_cli, write_csv, write_jsonl

P1 = person("110105", "19800101", 11)
P2 = person("110105", "19850505", 22)
MINOR = person("110105", "20100101", 33)
O1 = org("91110105MA0000001")
_names = itertools.count()


def row(event_id: str, **fields: Any) -> dict[str, Any]:
    """A traffic violation by P1, with fields overridden."""
    base = {
        "event_id": event_id,
        "source": "traffic",
        "subject_id": P1,
        "subject_name": "王芳",
        "type": "traffic.violation",
        "decided_on": "2025-01-02",
        "document_no": f"D-{event_id}",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def load(
    db: Path, tmp_path: Path, rows: list[dict[str, Any]], env: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, set[str]], list[dict[str, Any]]]:
    """Ingest rows as one CSV file; return the summary, codes per rejected event and rejects."""
    name = f"batch{next(_names)}.csv"
    path = write_csv(tmp_path / name, rows)
    res = ingest(db, path, rejects=tmp_path / f"{name}.rejects.jsonl", env=env)
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["accepted"] + summary["duplicates"] + summary["rejected"] == summary["rows"]
    rejects = read_rejects(summary["rejects"])
    return summary, codes_by_event(rejects), rejects


def events_of(db: Path, subject: str) -> list[dict[str, Any]]:
    res = run_cli("events", subject, "--db", db, "--json")
    assert res.code == 0, res.err
    events: list[dict[str, Any]] = res.json()["events"]
    return events


def defaulter(event_id: str, **fields: Any) -> dict[str, Any]:
    return row(event_id, source="court", type="court.defaulter", **fields)


def penalty(event_id: str, **fields: Any) -> dict[str, Any]:
    return row(event_id, source="market", type="admin.penalty", **fields)


# -- attributes and constraints --------------------------------------------------------------


def test_defaulter_attributes_ranges_and_constraints(db: Path, tmp_path: Path) -> None:
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            defaulter("ok-4", ground="4", extension_years="3", case_no="(2024)京0105执1号"),
            defaulter("ok-1", ground="1", grace_months="2", requested_by="applicant"),
            defaulter("ground-7", ground="7"),
            defaulter("ground-x", ground="two"),
            defaulter("no-ground"),
            defaulter("ext-on-1", ground="1", extension_years="1"),
            defaulter("ext-4", ground="3", extension_years="4"),
            defaulter("grace-4", ground="2", grace_months="4"),
            defaulter("who", ground="2", requested_by="mayor"),
            defaulter("minor", subject_id=MINOR, ground="1", decided_on="2025-06-01"),
        ],
    )
    assert summary["accepted"] == 2
    assert rejected == {
        "ground-7": {"out_of_range"},
        "ground-x": {"invalid_value"},
        "no-ground": {"required"},
        "ext-on-1": {"extension_not_allowed"},
        "ext-4": {"out_of_range"},
        "grace-4": {"out_of_range"},
        "who": {"invalid_value"},
        "minor": {"minor"},
    }
    stored = {e["event_id"]: e for e in events_of(db, P1)}
    assert stored["ok-4"]["attrs"]["ground"] == 4
    assert stored["ok-4"]["attrs"]["extension_years"] == 3
    assert stored["ok-4"]["attrs"]["case_no"] == "(2024)京0105执1号"


def test_minor_is_judged_on_the_decision_date(db: Path, tmp_path: Path) -> None:
    # born 2010-01-01: a minor until 2028-01-01
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [
            defaulter("at-17", subject_id=MINOR, ground="1", decided_on="2025-12-31"),
            row("traffic-minor", subject_id=MINOR, decided_on="2025-12-31"),
        ],
    )
    assert rejected == {"at-17": {"minor"}}
    assert "2010-01-01" in rejects[0]["errors"][0]["message"]
    assert summary["accepted"] == 1  # other record types do not carry the bar


def test_severe_listing_accepts_only_the_four_categories(db: Path, tmp_path: Path) -> None:
    cats = ["health_safety", "market_order", "refusing_obligations", "national_defence", "social_stability"]
    rows = [
        row(f"sev-{c}", source="market", type="admin.severe_listing", subject_id=O1, subject_name="某公司", category=c)
        for c in cats
    ]
    summary, rejected, _ = load(db, tmp_path, rows)
    assert summary["accepted"] == 4
    assert rejected == {"sev-social_stability": {"invalid_value"}}


def test_sources_types_and_subject_kinds(db: Path, tmp_path: Path) -> None:
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            row("ok"),
            row("no-source", source="police"),
            row("wrong-source", source="court"),
            row("no-type", type="traffic.jaywalking"),
            row("org-consent", source="self", type="consent.scoring", subject_id=O1, subject_name="某公司"),
            row("person-tax-a", source="tax", type="tax.grade_a", year="2024"),
            row("bad-action", action="destroy", record_id="ok"),
            row("empty-name", subject_name=""),
        ],
    )
    assert summary["accepted"] == 1
    assert rejected == {
        "no-source": {"unknown_source"},
        "wrong-source": {"source_not_allowed"},
        "no-type": {"unknown_type"},
        "org-consent": {"subject_kind_not_allowed"},
        "person-tax-a": {"subject_kind_not_allowed"},
        "bad-action": {"invalid_action"},
        "empty-name": {"required"},
    }


def test_amounts_quantities_and_attributes_that_do_not_belong(db: Path, tmp_path: Path) -> None:
    loan = {"source": "bank", "type": "loan.arrears_cycle"}
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            row("loan-ok", quantity="2", **loan),
            row("loan-none", **loan),
            row("loan-half", quantity="2.5", **loan),
            row("loan-zero", quantity="0", **loan),
            row("thousands", amount="12,000", source="utility", type="utility.arrears"),
            row("negative", amount="-5", source="utility", type="utility.arrears"),
            row("cents", amount="12.345", source="utility", type="utility.arrears"),
            row("amount-ok", amount="2400.50", source="utility", type="utility.arrears"),
            defaulter("qty-on-defaulter", ground="2", quantity="3"),
            row("ground-on-traffic", ground="2"),
        ],
    )
    assert summary["accepted"] == 2
    assert rejected == {
        "loan-none": {"required"},
        "loan-half": {"invalid_value"},
        "loan-zero": {"out_of_range"},
        "thousands": {"invalid_value"},
        "negative": {"out_of_range"},
        "cents": {"invalid_value"},
        "qty-on-defaulter": {"not_allowed"},
        "ground-on-traffic": {"attribute_not_allowed"},
    }
    stored = {e["event_id"]: e for e in events_of(db, P1)}
    assert stored["amount-ok"]["amount"] == 2400.5


def test_roles_and_exemptions(db: Path, tmp_path: Path) -> None:
    role = {"source": "registry", "type": "registry.role", "subject_id": O1, "subject_name": "某公司"}
    exemption = {"source": "court", "type": "court.consumption_exemption"}
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [
            row("role-ok", person_id=P1.lower(), role="legal_representative", **role),
            row("role-bad-id", person_id=P1[:-1] + ("0" if P1[-1] != "0" else "1"), role="principal", **role),
            row("role-org-id", person_id=O1, role="principal", **role),
            row("role-nephew", person_id=P2, role="nephew", **role),
            row("exempt-ok", actions="flight.economy;rail.g.*", valid_until="2026-12-31", **exemption),
            row("exempt-bad", actions="Flight!", **exemption),
            row("exempt-date", actions="flight.*", valid_until="2026-02-30", **exemption),
        ],
    )
    assert summary["accepted"] == 2
    assert rejected == {
        "role-bad-id": {"invalid_identity"},
        "role-org-id": {"invalid_identity"},
        "role-nephew": {"invalid_value"},
        "exempt-bad": {"invalid_value"},
        "exempt-date": {"invalid_value"},
    }
    message = next(r for r in rejects if r["event_id"] == "role-bad-id")["errors"][0]["message"]
    assert "check character" in message
    org_events = {e["event_id"]: e for e in events_of(db, O1)}
    assert org_events["role-ok"]["attrs"]["person_id"] == P1  # canonical form stored
    exempt = {e["event_id"]: e for e in events_of(db, P1)}["exempt-ok"]
    assert exempt["attrs"]["actions"] == ["flight.economy", "rail.g.*"]
    assert exempt["attrs"]["valid_until"] == "2026-12-31"


# -- follow-up events --------------------------------------------------------------------


def test_follow_ups_reach_records_of_the_same_source(db: Path, tmp_path: Path) -> None:
    rail = {"source": "railway", "type": "railway.passenger_violation"}
    load(
        db, tmp_path, [row("RW-1", item="6", **rail), row("RW-2", item="2", subject_id=P2, subject_name="李强", **rail)]
    )
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [
            {
                "event_id": "RW-3",
                "source": "railway",
                "action": "perform",
                "record_id": "RW-1",
                "decided_on": "2025-02-01",
            },
            {
                "event_id": "RW-4",
                "source": "court",
                "action": "perform",
                "record_id": "RW-1",
                "decided_on": "2025-02-01",
            },
            {
                "event_id": "RW-5",
                "source": "railway",
                "action": "perform",
                "record_id": "RW-9",
                "decided_on": "2025-02-01",
            },
            {
                "event_id": "RW-6",
                "source": "railway",
                "action": "perform",
                "record_id": "RW-2",
                "subject_id": P1,
                "decided_on": "2025-02-01",
            },
            {
                "event_id": "RW-7",
                "source": "railway",
                "action": "extend",
                "record_id": "RW-2",
                "decided_on": "2025-02-01",
            },
            {
                "event_id": "RW-8",
                "source": "railway",
                "action": "delist",
                "record_id": "RW-2",
                "decided_on": "2025-02-01",
                "reason": "objection_upheld",
            },
            {
                "event_id": "RW-10",
                "source": "railway",
                "action": "delist",
                "record_id": "RW-2",
                "decided_on": "2025-02-01",
                "reason": "bored",
            },
        ],
    )
    assert summary["accepted"] == 2
    assert rejected == {
        "RW-4": {"unknown_record"},
        "RW-5": {"unknown_record"},
        "RW-6": {"record_mismatch"},
        "RW-7": {"action_not_allowed"},
        "RW-10": {"invalid_value"},
    }
    assert "RW-9" in next(r for r in rejects if r["event_id"] == "RW-5")["errors"][0]["message"]
    performed = {e["event_id"]: e for e in events_of(db, P1)}["RW-3"]
    assert performed["type"] == "railway.passenger_violation"  # filled from the record
    assert performed["subject_kind"] == "person"


def test_follow_ups_in_the_same_file_before_or_after_their_record(db: Path, tmp_path: Path) -> None:
    # The follow-up comes first and its record ~2,400 rows later: with chunks of 1,000 rows the
    # record is in a later chunk, so the follow-up is settled at the end of the file.
    filler = [row(f"F-{i}", decided_on="2024-05-01") for i in range(2400)]
    rows = [
        {
            "event_id": "FU-early",
            "source": "court",
            "action": "perform",
            "record_id": "C-late",
            "decided_on": "2025-03-01",
        },
        *filler,
        defaulter("C-late", ground="1"),
        {
            "event_id": "FU-after",
            "source": "court",
            "action": "delist",
            "record_id": "C-late",
            "decided_on": "2025-03-05",
            "reason": "performed",
        },
        defaulter("C-bad", ground="9"),
        {
            "event_id": "FU-on-bad",
            "source": "court",
            "action": "perform",
            "record_id": "C-bad",
            "decided_on": "2025-03-01",
        },
    ]
    summary, rejected, rejects = load(db, tmp_path, rows, env={"SOCIALCREDIT_INGEST_CHUNK_ROWS": "1000"})
    assert rejected == {"C-bad": {"out_of_range"}, "FU-on-bad": {"unknown_record"}}
    on_bad = next(r for r in rejects if r["event_id"] == "FU-on-bad")
    assert "rejected in this file" in on_bad["errors"][0]["message"]
    assert summary["accepted"] == len(rows) - 2
    stored = [e for e in events_of(db, P1) if e["record_id"] == "C-late"]
    assert [e["action"] for e in sorted(stored, key=lambda e: e["seq"])] == ["perform", "create", "delist"]
    early = next(e for e in stored if e["event_id"] == "FU-early")
    assert early["line"] == 2


def test_extension_of_a_ground_one_listing_is_refused(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [defaulter("G1", ground="1"), defaulter("G4", ground="4")])
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            {
                "event_id": "X1",
                "source": "court",
                "action": "extend",
                "record_id": "G1",
                "decided_on": "2025-03-01",
                "extension_years": "2",
            },
            {
                "event_id": "X4",
                "source": "court",
                "action": "extend",
                "record_id": "G4",
                "decided_on": "2025-03-01",
                "extension_years": "2",
            },
            {
                "event_id": "X5",
                "source": "court",
                "action": "correct",
                "record_id": "G4",
                "decided_on": "2025-03-01",
                "ground": "1",
            },
        ],
    )
    # X5 turns the record into a ground-1 listing without an extension: allowed.
    assert summary["accepted"] == 2
    assert rejected == {"X1": {"extension_not_allowed"}}
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            {
                "event_id": "X6",
                "source": "court",
                "action": "extend",
                "record_id": "G4",
                "decided_on": "2025-03-02",
                "extension_years": "1",
            },
            {"event_id": "X7", "source": "court", "action": "correct", "record_id": "X6", "decided_on": "2025-03-02"},
        ],
    )
    assert rejected == {"X7": {"unknown_record"}}


def test_record_ids_are_not_reused(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [row("A", record_id="REC-1")])
    summary, rejected, _ = load(
        db, tmp_path, [row("B", record_id="REC-1"), row("C", record_id="REC-2"), row("D", record_id="REC-2")]
    )
    assert summary["accepted"] == 1
    assert rejected == {"B": {"record_exists"}, "D": {"record_exists"}}


# -- idempotency ---------------------------------------------------------------------------


def test_duplicates_and_conflicts(db: Path, tmp_path: Path) -> None:
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [row("E1"), row("E2"), row("E1"), row("E2", document_no="changed"), row("E3", subject_id=P1.lower())],
    )
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (3, 1, 1)
    assert rejected == {"E2": {"conflict"}}
    assert "line 3" in rejects[0]["errors"][0]["message"]
    again, rejected2, rejects2 = load(
        db, tmp_path, [row("E1"), row("E2", document_no="changed again"), row("E3"), row("E4")]
    )
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (1, 2, 1)
    assert rejected2 == {"E2": {"conflict"}}
    assert "already recorded" in rejects2[0]["errors"][0]["message"]
    assert event_count(db) == 4


# -- rule bars needing history -----------------------------------------------------------


def test_relisting_at_the_applicants_request_is_barred_for_six_months(db: Path, tmp_path: Path) -> None:
    """Scenarios S4-S5: deletion at the applicant's request on 2025-05-12 bars a new listing
    requested by the applicant in the same case until 2025-11-12; 2025-11-13 is admissible."""
    case = "(2025)鲁1082执9号"
    load(db, tmp_path, [defaulter("L1", ground="1", requested_by="applicant", case_no=case, decided_on="2025-01-06")])
    load(
        db,
        tmp_path,
        [
            {
                "event_id": "L1-del",
                "source": "court",
                "action": "delist",
                "record_id": "L1",
                "decided_on": "2025-05-12",
                "reason": "applicant_request",
            }
        ],
    )
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [
            defaulter("L2", ground="1", requested_by="applicant", case_no=case, decided_on="2025-09-01"),
            defaulter("L3", ground="1", requested_by="applicant", case_no=case, decided_on="2025-11-12"),
            defaulter("L4", ground="1", requested_by="court", case_no=case, decided_on="2025-09-01"),
            defaulter(
                "L5", ground="1", requested_by="applicant", case_no="(2025)鲁1082执10号", decided_on="2025-09-01"
            ),
        ],
    )
    assert rejected == {"L2": {"relisting_barred"}, "L3": {"relisting_barred"}}
    assert "2025-11-12" in rejects[0]["errors"][0]["message"]
    assert summary["accepted"] == 2
    later, rejected_later, _ = load(
        db, tmp_path, [defaulter("L6", ground="1", requested_by="applicant", case_no=case, decided_on="2025-11-13")]
    )
    assert later["accepted"] == 1
    assert rejected_later == {}


def test_relisting_bar_applies_to_a_deletion_in_the_same_file(db: Path, tmp_path: Path) -> None:
    summary, rejected, _ = load(
        db,
        tmp_path,
        [
            defaulter("M1", ground="1", requested_by="applicant", decided_on="2025-01-06"),
            {
                "event_id": "M1-del",
                "source": "court",
                "action": "delist",
                "record_id": "M1",
                "decided_on": "2025-05-12",
                "reason": "applicant_request",
            },
            defaulter("M2", ground="1", requested_by="applicant", decided_on="2025-06-01"),
        ],
    )
    assert rejected == {"M2": {"relisting_barred"}}
    assert summary["accepted"] == 2


@pytest.mark.parametrize(
    ("severity", "decided", "repair", "ok"),
    [
        ("general", "2026-05-11", "2026-07-01", False),  # S29: minimum 3 months not reached
        ("general", "2026-05-11", "2026-08-11", True),  # S29: earliest day
        ("serious", "2026-04-10", "2027-04-12", True),  # S30: one year passed
        ("serious", "2026-04-10", "2027-04-09", False),
        ("serious", "2020-01-06", "2020-05-06", False),  # S32: 2019 regime, 6 months
        ("serious", "2020-01-06", "2020-07-06", True),
        ("serious", "2024-01-10", "2024-07-10", True),  # findings 2023-05-01..2026-03-31: 2019 periods kept
        ("minor", "2026-05-11", "2026-05-12", True),
    ],
)
def test_repair_before_the_minimum_publication_period_is_refused(
    db: Path, tmp_path: Path, severity: str, decided: str, repair: str, ok: bool
) -> None:
    later = {"SOCIALCREDIT_TODAY": "2027-06-01"}
    load(db, tmp_path, [penalty("P1", severity=severity, decided_on=decided)], env=later)
    summary, rejected, rejects = load(
        db,
        tmp_path,
        [
            {
                "event_id": "P1-rep",
                "source": "market",
                "action": "repair",
                "record_id": "P1",
                "decided_on": repair,
                "commitment": "true",
            }
        ],
        env=later,
    )
    if ok:
        assert summary["accepted"] == 1, rejects
    else:
        assert rejected == {"P1-rep": {"repair_too_early"}}
        assert "may be repaired from" in rejects[0]["errors"][0]["message"]


# -- names, catalog versions, JSON Lines ------------------------------------------------------


def test_names_that_disagree_are_flagged_not_merged(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [row("N1")])
    summary, _, _ = load(db, tmp_path, [row("N2", subject_name="王 芳"), row("N3", subject_id=P2, subject_name="李强")])
    assert summary["flagged"] == 1
    con = duckdb.connect(str(db), read_only=True)
    try:
        flags = con.execute("SELECT subject_id, kind, submitted, known FROM review_flags").fetchall()
        names = con.execute("SELECT subject_name FROM events WHERE subject_id = ? ORDER BY seq", [P1]).fetchall()
    finally:
        con.close()
    assert flags == [(P1, "name_mismatch", "王 芳", "王芳")]
    assert [n[0] for n in names] == ["王芳", "王 芳"]  # both kept as submitted


def test_events_record_the_catalog_version_that_accepted_them(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [row("V1")])
    catalog_dir = tmp_path / "cat"
    assert run_cli("catalog", "export", catalog_dir).code == 0
    path = catalog_dir / "catalog.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: default", "name: edited"), encoding="utf-8")
    res = run_cli("init", "--db", db, "--catalog", catalog_dir, "--json")
    assert res.code == 0, res.err
    new_version = res.json()["catalog_version"]
    load(db, tmp_path, [row("V2")])
    versions = {e["event_id"]: e["catalog_version"] for e in events_of(db, P1)}
    assert versions["V2"] == new_version
    assert versions["V1"] != new_version


def test_json_lines_attrs_and_lists(db: Path, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "court.jsonl",
        [
            {
                "event_id": "J1",
                "source": "court",
                "subject_id": P1,
                "subject_name": "王芳",
                "type": "court.defaulter",
                "decided_on": "2025-01-02",
                "attrs": {"ground": 2, "extension_years": 1},
            },
            {
                "event_id": "J2",
                "source": "court",
                "subject_id": P1,
                "subject_name": "王芳",
                "type": "court.consumption_exemption",
                "decided_on": "2025-01-02",
                "attrs": {"actions": ["flight.economy", "hotel.star_rated"]},
            },
            {
                "event_id": "J3",
                "source": "court",
                "subject_id": P1,
                "subject_name": "王芳",
                "type": "court.defaulter",
                "decided_on": "2025-01-02",
                "attrs": {"ground": "7"},
            },
            {
                "event_id": 4,
                "source": "traffic",
                "subject_id": P1,
                "subject_name": "王芳",
                "type": "traffic.violation",
                "decided_on": "2025-01-02",
                "amount": 200,
            },
        ],
    )
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = res.json()
    assert (summary["accepted"], summary["rejected"]) == (3, 1)
    assert codes_by_event(read_rejects(summary["rejects"])) == {"J3": {"out_of_range"}}
    stored = {e["event_id"]: e for e in events_of(db, P1)}
    assert stored["J1"]["attrs"] == {"ground": 2, "extension_years": 1}
    assert stored["J2"]["attrs"]["actions"] == ["flight.economy", "hotel.star_rated"]
    assert stored["4"]["amount"] == 200


def test_stored_attrs_text_is_compact_json_in_catalog_order(db: Path, tmp_path: Path) -> None:
    # The stored attrs text is what the run digest hashes: the compact JSON object of the
    # attributes given, in the stored catalog's order (its canonical form sorts them by name)
    # rather than the file's, text escaped as JSON.
    tricky = 'a"b\\c 中文\t\x01/\u2028'
    court = {"source": "court", "subject_id": P1, "subject_name": "王芳", "decided_on": "2025-01-02"}
    path = write_jsonl(
        tmp_path / "attrs.jsonl",
        [
            {**court, "event_id": "A1", "type": "court.defaulter", "attrs": {"case_no": tricky, "ground": "2"}},
            {**court, "event_id": "A2", "type": "court.defaulter", "attrs": {"ground": 1}},
            {
                **court,
                "event_id": "A3",
                "type": "court.consumption_exemption",
                "attrs": {"valid_until": "2025-03-01", "actions": "flight.* ; hotel.star_rated;"},
            },
        ],
    )
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    assert res.json()["accepted"] == 3
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = dict(con.execute("SELECT event_id, attrs FROM events").fetchall())
    finally:
        con.close()
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    assert stored["A1"] == json.dumps({"case_no": tricky, "ground": 2}, **compact)  # type: ignore[arg-type]
    assert stored["A2"] == '{"ground":1}'
    assert stored["A3"] == '{"actions":["flight.*","hotel.star_rated"],"valid_until":"2025-03-01"}'

"""Acceptance scenarios of regulations.md §9 that the default catalog covers, end to end through
the real CLI: ingest agency files, then ``check`` / ``show`` on the dates the scenarios name.

Working days follow the official PRC calendar: where a scenario assumes a day is a working day
that the calendar makes a holiday (2025-06-02, Dragon Boat Festival), the test says so."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import ingest, org, person, run_cli, write_csv

P = person("110105", "19800101", 11)
P2 = person("110105", "19850505", 22)
P3 = person("110105", "19700707", 33)
REP = person("371082", "19900312", 24)
ORG = org("91371082MA3C12345")
LATER = {"SOCIALCREDIT_TODAY": "2029-12-31"}
_n = itertools.count()


def load(db: Path, tmp_path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    path = write_csv(tmp_path / f"s{next(_n)}.csv", rows)
    res = ingest(db, path, rejects=tmp_path / "rejects.jsonl", env=LATER)
    assert res.code == 0, res.err
    summary: dict[str, Any] = res.json()
    assert summary["rejected"] == 0, (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")
    return summary


def check(db: Path, subject: str, action: str, day: str, *extra: str) -> dict[str, Any]:
    res = run_cli("check", subject, action, "--db", db, "--as-of", day, "--json", *extra, env=LATER)
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    return data


def screen_allowed(db: Path, tmp_path: Path, codes: list[str], action: str, day: str) -> list[bool]:
    """``allowed`` per code from `screen`, checking that the decision index answered."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from socialcredit.decide.screenlog import read_screening

    src, out = tmp_path / f"codes{next(_n)}.csv", tmp_path / f"screened{next(_n)}.csv"
    pacsv.write_csv(pa.table({"subject_id": codes}), src)
    res = run_cli("screen", src, "--action", action, "--out", out, "--db", db, "--as-of", day, "--json", env=LATER)
    assert res.code == 0, res.err
    rows = pacsv.read_csv(out).to_pylist()
    screen_id = str(rows[0]["decision_id"]).split(":")[0]
    assert read_screening(db.parent / (db.name + ".screenings") / f"{screen_id}.arrow")[0]["source"] == "index"
    return [bool(r["allowed"]) for r in rows]


def show(db: Path, subject: str, day: str, *extra: str) -> dict[str, Any]:
    res = run_cli("show", subject, "--db", db, "--as-of", day, "--json", *extra, env=LATER)
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    return data


def court(event_id: str, subject: str = P, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source": "court",
        "subject_id": subject,
        "subject_name": "王芳",
        "type": "court.defaulter",
        "document_no": f"({event_id})执",
        **fields,
    }


def follow(event_id: str, source: str, action: str, record: str, day: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "source": source, "action": action, "record_id": record, "decided_on": day, **fields}


def restricted(result: dict[str, Any]) -> set[str]:
    return {r["measure"] for r in result["restrictions"]}


# -- judgment defaulters ---------------------------------------------------------------------


def test_s1_s2_two_year_term_and_extension(db: Path, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        [
            court("S1", ground="4", decided_on="2024-03-04", case_no="(2024)京0105执1号"),
            court("S2", subject=P2, ground="5", decided_on="2024-03-04", extension_years="3"),
        ],
    )
    assert not check(db, P, "rail.g.second", "2026-03-03")["allowed"]
    after = check(db, P, "rail.g.second", "2026-03-04")
    assert after["allowed"]  # S1: the 2-year term ended on 2026-03-04
    lists = show(db, P, "2025-01-01")["lists"]
    assert [(m["list"], m["since"], m["until"]) for m in lists] == [("judgment_defaulters", "2024-03-04", "2026-03-04")]
    assert show(db, P2, "2025-01-01")["lists"][0]["until"] == "2029-03-04"  # S2: 2 + 3 years
    assert not check(db, P2, "flight.economy", "2029-03-03")["allowed"]
    assert check(db, P2, "flight.economy", "2029-03-04")["allowed"]


def test_s3_performance_alone_does_not_end_a_ground_2_listing_deletion_does(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [court("S3", ground="2", decided_on="2024-06-03")])
    load(db, tmp_path, [follow("S3-p", "court", "perform", "S3", "2025-01-06")])
    assert not check(db, P, "flight.economy", "2025-02-01")["allowed"]
    load(db, tmp_path, [follow("S3-d", "court", "delist", "S3", "2025-02-10", reason="early_deletion")])
    assert not check(db, P, "flight.economy", "2025-02-09")["allowed"]
    assert check(db, P, "flight.economy", "2025-02-10")["allowed"]
    record = show(db, P, "2025-03-01")["records"][0]
    assert (record["status"], record["deleted_on"], record["performed_on"]) == ("deleted", "2025-02-10", "2025-01-06")


def test_s4_ground_1_ends_on_deletion_or_performance(db: Path, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        [
            court("S4", ground="1", decided_on="2025-01-06", requested_by="applicant"),
            court("S4b", subject=P2, ground="1", decided_on="2025-01-06"),
        ],
    )
    load(
        db,
        tmp_path,
        [
            follow("S4-d", "court", "delist", "S4", "2025-05-12", reason="applicant_request"),
            follow("S4b-p", "court", "perform", "S4b", "2025-04-01"),
        ],
    )
    first = check(db, P, "hotel.star_rated", "2025-05-11")
    assert not first["allowed"]
    [item] = first["restrictions"]
    assert item["until"] is None
    assert "performed" in item["until_rule"]
    assert check(db, P, "hotel.star_rated", "2025-05-12")["allowed"]
    assert not check(db, P2, "hotel.star_rated", "2025-03-31")["allowed"]
    assert check(db, P2, "hotel.star_rated", "2025-04-01")["allowed"]  # S20: performed: lifted


def test_s11_revocation_voids_the_listing_from_the_start(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [court("S11", ground="3", decided_on="2025-01-06")])
    assert not check(db, P, "flight.business", "2025-02-01")["allowed"]
    before_revocation = datetime.now(UTC).isoformat()
    load(db, tmp_path, [follow("S11-r", "court", "revoke", "S11", "2025-03-01")])
    # once the revocation is known, the listing never existed, also for dates before it
    assert check(db, P, "flight.business", "2025-02-01")["allowed"]
    assert show(db, P, "2025-02-01")["lists"] == []
    assert check(db, P, "flight.business", "2025-03-01")["allowed"]
    assert show(db, P, "2025-03-01")["records"][0]["status"] == "revoked"
    # what the platform answered before it knew of the revocation stays reproducible
    then = check(db, P, "flight.business", "2025-02-01", "--known-at", before_revocation)
    assert not then["allowed"]


def test_s15_grace_period_delays_publication_and_measures(db: Path, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        [
            court("S15", ground="1", decided_on="2025-06-02", grace_months="2"),
            court("S15b", subject=P2, ground="1", decided_on="2025-06-02", grace_months="2"),
        ],
    )
    load(db, tmp_path, [follow("S15b-p", "court", "perform", "S15b", "2025-07-20")])
    assert show(db, P, "2025-07-15")["lists"] == []
    assert check(db, P, "flight.economy", "2025-07-15")["allowed"]
    assert not check(db, P, "flight.economy", "2025-08-02")["allowed"]
    assert show(db, P, "2025-08-02")["lists"][0]["since"] == "2025-08-02"
    assert check(db, P2, "flight.economy", "2025-08-02")["allowed"]  # paid during the grace period


def test_s16_s17_s18_which_travel_a_defaulter_may_buy(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [court("S16", ground="1", decided_on="2025-01-06")])
    day = "2025-03-01"
    for action in ("rail.g.second", "rail.g.first", "flight.economy", "rail.k.soft_sleeper", "ship.second_class"):
        assert not check(db, P, action, day)["allowed"], action
    for action in ("rail.d.second", "rail.k.hard_seat", "ship.third_class", "hotel.budget"):
        assert check(db, P, action, day)["allowed"], action


def test_s19_legal_representative_reached_through_the_company_and_exempted_by_the_court(
    db: Path, tmp_path: Path
) -> None:
    load(
        db,
        tmp_path,
        [
            {
                "event_id": "R1",
                "source": "registry",
                "subject_id": ORG,
                "subject_name": "荣成海洋食品有限公司",
                "type": "registry.role",
                "decided_on": "2019-03-01",
                "person_id": REP,
                "role": "legal_representative",
            },
            {
                "event_id": "R2",
                "source": "registry",
                "subject_id": ORG,
                "subject_name": "荣成海洋食品有限公司",
                "type": "registry.role",
                "decided_on": "2019-03-01",
                "person_id": P3,
                "role": "director",
            },
            court("S19", subject=ORG, subject_name="荣成海洋食品有限公司", ground="1", decided_on="2025-01-06"),
        ],
    )
    blocked = check(db, REP, "flight.economy", "2025-03-01")
    assert not blocked["allowed"]
    [item] = blocked["restrictions"]
    assert item["measure"] == "high_consumption"
    assert item["via"]["role"] == "legal_representative"
    assert item["via"]["organisation"] == ORG
    assert item["records"][0]["record_id"] == "S19"
    assert item["legal_basis"][0]["citation"] == "Fa Shi [2015] No. 17"
    # only high consumption reaches role holders, and only the roles it names
    assert check(db, REP, "procurement.bid", "2025-03-01")["allowed"]
    assert check(db, P3, "flight.economy", "2025-03-01")["allowed"]
    load(
        db,
        tmp_path,
        [
            {
                "event_id": "X1",
                "source": "court",
                "subject_id": REP,
                "subject_name": "王芳",
                "type": "court.consumption_exemption",
                "decided_on": "2025-03-10",
                "actions": "flight.*",
                "valid_until": "2025-04-30",
                "document_no": "(2025)鲁1082执1234号之三",
            }
        ],
    )
    exempted = check(db, REP, "flight.economy", "2025-03-15")
    assert exempted["allowed"]
    assert exempted["lifted"][0]["exemptions"][0]["record_id"] == "X1"
    assert not check(db, REP, "rail.g.second", "2025-03-15")["allowed"]  # only the approved actions
    # the same answers from the decision index over a stored derive (what `screen` uses)
    assert run_cli("derive", "--as-of", "2025-03-15", "--db", db, env=LATER).code == 0
    assert screen_allowed(db, tmp_path, [REP, ORG, P3], "flight.economy", "2025-03-15") == [True, False, True]
    assert screen_allowed(db, tmp_path, [REP, ORG, P3], "rail.g.second", "2025-03-15") == [False, False, True]
    assert not check(db, REP, "flight.economy", "2025-05-01")["allowed"]  # approval expired
    # the role ends: the reach ends
    load(db, tmp_path, [follow("R1-end", "registry", "delist", "R1", "2025-06-01", reason="role_ended")])
    assert check(db, REP, "flight.economy", "2025-06-01")["allowed"]


# -- railway ---------------------------------------------------------------------------------


def rail(event_id: str, item: int, day: str, subject: str = P) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source": "railway",
        "subject_id": subject,
        "subject_name": "王芳",
        "type": "railway.passenger_violation",
        "decided_on": day,
        "item": str(item),
    }


def test_s21_smoking_on_an_emu_180_days_after_the_publication_period(db: Path, tmp_path: Path) -> None:
    # 2025-06-02 is a holiday (Dragon Boat Festival) in the official calendar: the 7 working
    # days are 06-03 .. 06-11, and the ban runs for 180 days from 06-12.
    load(db, tmp_path, [rail("S21", 2, "2025-06-02")])
    assert check(db, P, "rail.d.second", "2025-06-11")["allowed"]
    blocked = check(db, P, "rail.d.second", "2025-06-12")
    assert not blocked["allowed"]
    assert blocked["restrictions"][0]["until"] == "2025-12-09"
    assert not check(db, P, "rail.k.hard_seat", "2025-12-08")["allowed"]
    assert check(db, P, "rail.k.hard_seat", "2025-12-09")["allowed"]
    assert check(db, P, "flight.economy", "2025-07-01")["allowed"]  # a rail ban only


def test_s22_fare_evasion_until_the_fare_is_paid(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [rail("S22", 6, "2025-05-06")])
    assert not check(db, P, "rail.g.second", "2025-06-10")["allowed"]
    load(db, tmp_path, [follow("S22-p", "railway", "perform", "S22", "2025-06-10")])
    assert not check(db, P, "rail.g.second", "2025-06-10")["allowed"]
    assert check(db, P, "rail.g.second", "2025-06-11")["allowed"]


def test_s23_fourth_fare_evasion_within_a_year_lasts_90_days_after_repayment(db: Path, tmp_path: Path) -> None:
    offences = [
        ("E1", "2024-11-01", "2024-11-20"),
        ("E2", "2025-02-03", "2025-02-10"),
        ("E3", "2025-05-06", "2025-05-20"),
        ("E4", "2025-08-01", "2025-09-01"),
    ]
    load(db, tmp_path, [rail(e, 6, d) for e, d, _ in offences])
    load(db, tmp_path, [follow(f"{e}-p", "railway", "perform", e, paid) for e, _, paid in offences])
    assert check(db, P, "rail.g.second", "2025-05-21")["allowed"]  # third offence: next day
    assert not check(db, P, "rail.g.second", "2025-11-20")["allowed"]
    assert not check(db, P, "rail.g.second", "2025-11-29")["allowed"]
    assert check(db, P, "rail.g.second", "2025-11-30")["allowed"]


# -- severe list, tax grade A ------------------------------------------------------------------


def test_severe_untrustworthy_bans_premium_travel_and_procurement(db: Path, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        [
            {
                "event_id": "SV1",
                "source": "market",
                "subject_id": P,
                "subject_name": "王芳",
                "type": "admin.severe_listing",
                "decided_on": "2025-01-06",
                "category": "market_order",
            }
        ],
    )
    day = "2025-03-01"
    for action in ("flight.economy", "rail.g.second", "rail.d.first", "rail.k.soft_sleeper", "procurement.bid"):
        assert not check(db, P, action, day)["allowed"], action
    for action in ("rail.d.second", "rail.k.hard_seat", "hotel.star_rated"):
        assert check(db, P, action, day)["allowed"], action
    assert show(db, P, day)["lists"][0]["until"] == "2028-01-06"


def test_tax_grade_a_grants_the_green_channel(db: Path, tmp_path: Path) -> None:
    load(
        db,
        tmp_path,
        [
            {
                "event_id": "TA",
                "source": "tax",
                "subject_id": ORG,
                "subject_name": "某公司",
                "type": "tax.grade_a",
                "decided_on": "2025-04-15",
                "year": "2024",
            }
        ],
    )
    granted = check(db, ORG, "service.fast_track", "2025-06-01")
    assert granted["allowed"]
    assert [i["measure"] for i in granted["incentives"]] == ["green_channel"]
    assert check(db, ORG, "service.fast_track", "2026-04-15")["incentives"] == []


# -- publication, retention, points ------------------------------------------------------------


def test_s29_s31_publication_of_penalties_by_severity(db: Path, tmp_path: Path) -> None:
    pen = {"source": "market", "subject_name": "王芳", "type": "admin.penalty"}
    load(
        db,
        tmp_path,
        [
            {**pen, "event_id": "G", "subject_id": P, "decided_on": "2026-05-11", "severity": "general"},
            {**pen, "event_id": "M", "subject_id": P, "decided_on": "2026-05-11", "severity": "minor"},
            {**pen, "event_id": "S", "subject_id": P, "decided_on": "2026-04-10", "severity": "serious"},
        ],
    )
    load(db, tmp_path, [follow("S-rep", "market", "repair", "S", "2027-04-12", commitment="true")])
    records = {r["record_id"]: r for r in show(db, P, "2027-06-01")["records"]}
    assert records["G"]["published_until"] == "2027-05-11"  # S29: at most one year
    assert records["M"]["published_until"] is None  # S31: not published
    assert records["S"]["published_until"] == "2027-04-12"  # S30: repair stops publication
    assert records["S"]["status"] == "repaired"


def test_s24_s33_retention_limit_and_s37_to_s40_points(db: Path, tmp_path: Path) -> None:
    base = {"subject_id": P, "subject_name": "王芳"}
    load(
        db,
        tmp_path,
        [
            {**base, "event_id": "C1", "source": "self", "type": "consent.scoring", "decided_on": "2019-01-02"},
            {
                **base,
                "event_id": "L1",
                "source": "bank",
                "type": "loan.arrears_cycle",
                "decided_on": "2020-03-01",
                "quantity": "2",
            },
            {**base, "event_id": "T1", "source": "traffic", "type": "traffic.violation", "decided_on": "2019-10-01"},
            {
                **base,
                "event_id": "H1",
                "source": "court",
                "type": "utility.arrears_judgment",
                "decided_on": "2024-01-10",
            },
            {
                **base,
                "event_id": "D1",
                "source": "utility",
                "type": "public_facility.damage",
                "decided_on": "2024-02-10",
            },
            {
                **base,
                "event_id": "V1",
                "source": "civil",
                "type": "civil.volunteer_month",
                "decided_on": "2024-03-01",
                "quantity": "3",
            },
            {
                **base,
                "subject_id": P2,
                "event_id": "N1",
                "source": "traffic",
                "type": "traffic.violation",
                "decided_on": "2024-01-10",
            },
        ],
    )
    load(db, tmp_path, [follow("L1-p", "bank", "perform", "L1", "2020-05-10")])
    # S39 (two arrears cycles, -20), S38 (-50), S40 (-100), volunteering +2 x 3, traffic -5
    assert show(db, P, "2020-04-01")["score"] == 1000 - 20 - 5
    assert show(db, P, "2024-06-01")["score"] == 1000 - 20 - 5 - 50 - 100 + 6
    # S24: the arrears ended 2020-05-10; five years later they no longer count
    assert show(db, P, "2025-05-09")["score"] == 1000 - 50 - 100 + 6 - 20
    assert show(db, P, "2025-05-11")["score"] == 1000 - 50 - 100 + 6
    # S33: conduct ended 2019-10-01: gone on 2024-10-02
    assert show(db, P, "2024-10-02")["score"] == show(db, P, "2024-09-30")["score"] + 5
    records = {r["record_id"]: r for r in show(db, P, "2025-05-11")["records"]}
    assert records["L1"]["status"] == "expired"
    # positive points last two years
    assert show(db, P, "2026-03-02")["score"] == 1000 - 50 - 100
    # S37: no consent, no score, records kept
    other = show(db, P2, "2024-06-01")
    assert other["score"] is None
    assert other["grade"] is None
    assert [r["record_id"] for r in other["records"]] == ["N1"]


def test_points_expiring_are_a_change_to_catch_up_only_under_a_consent(db: Path, tmp_path: Path) -> None:
    """Points make nothing but a score, and a score needs a consent: the day a point record stops
    counting is a next change for a consenting subject (and catch-up over it moves the stored
    score), and no change at all for a subject without consent."""
    import duckdb

    base = {"source": "traffic", "type": "traffic.violation", "decided_on": "2019-10-01", "subject_name": "王芳"}
    load(
        db,
        tmp_path,
        [
            {
                **base,
                "event_id": "C1",
                "subject_id": P,
                "source": "self",
                "type": "consent.scoring",
                "decided_on": "2024-01-02",
            },
            {**base, "event_id": "T1", "subject_id": P},
            {**base, "event_id": "T2", "subject_id": P2},
        ],
    )

    def derive(as_of: str) -> dict[str, Any]:
        res = run_cli("derive", "--as-of", as_of, "--db", db, "--json", env=LATER)
        assert res.code == 0, res.err
        data: dict[str, Any] = res.json()
        return data

    def stored(sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    assert derive("2024-06-01")["mode"] == "full"
    # the violation's conduct ended 2019-10-01: its points count until the retention limit
    assert stored("SELECT subject_id, CAST(next_change AS VARCHAR) FROM d_next") == [(P, "2024-10-01")]
    assert stored("SELECT subject_id, score FROM d_scores") == [(P, 995.0)]
    assert derive("2024-12-01")["mode"] == "catch-up"
    assert stored("SELECT subject_id, score FROM d_scores") == [(P, 1000.0)]
    assert stored("SELECT count(*) FROM d_next") == [(0,)]
    assert show(db, P2, "2024-06-01")["score"] is None


def test_grade_aaa_with_consent_grants_the_heating_discount(db: Path, tmp_path: Path) -> None:
    base = {"subject_id": P, "subject_name": "王芳", "source": "civil"}
    load(
        db,
        tmp_path,
        [
            {**base, "event_id": "C1", "source": "self", "type": "consent.scoring", "decided_on": "2024-01-02"},
            {**base, "event_id": "V1", "type": "civil.volunteer_month", "decided_on": "2024-03-01", "quantity": "12"},
            {**base, "event_id": "B1", "type": "civil.blood_donation", "decided_on": "2024-04-01"},
            {**base, "event_id": "H1", "type": "honor.heroic_act", "decided_on": "2024-05-01"},
        ],
    )
    file = show(db, P, "2024-06-01")
    assert file["score"] == 1064
    assert file["grade"] == "AAA"
    assert [m["list"] for m in file["lists"]] == ["grade_aaa"]
    granted = check(db, P, "utility.heating_discount", "2024-06-01")
    assert [i["measure"] for i in granted["incentives"]] == ["heating_discount"]
    load(db, tmp_path, [follow("C1-w", "self", "delist", "C1", "2024-07-01")])
    withdrawn = show(db, P, "2024-07-01")
    assert withdrawn["score"] is None
    assert withdrawn["lists"] == []


def test_same_day_consents_cite_the_one_recorded_last(db: Path, tmp_path: Path) -> None:
    """Two consents decided the same day: the score and the grade-based list cite the one the log
    recorded last, on the fly and from the stored derive alike (it was an arbitrary one)."""
    base = {"subject_id": P, "subject_name": "王芳", "source": "self", "type": "consent.scoring"}
    load(
        db,
        tmp_path,
        [
            {**base, "event_id": "C2", "decided_on": "2024-01-02", "document_no": "consent-b"},
            {**base, "event_id": "C1", "decided_on": "2024-01-02", "document_no": "consent-a"},
            {
                "subject_id": P,
                "subject_name": "王芳",
                "source": "civil",
                "event_id": "H1",
                "type": "honor.heroic_act",
                "decided_on": "2024-05-01",
            },
            {
                "subject_id": P,
                "subject_name": "王芳",
                "source": "civil",
                "event_id": "V1",
                "type": "civil.volunteer_month",
                "decided_on": "2024-03-01",
                "quantity": "12",
            },
        ],
    )
    file = show(db, P, "2024-06-01")
    assert file["grade"] == "AAA"
    [aaa] = file["lists"]
    assert [(r["record_id"], r["document_no"]) for r in aaa["records"]] == [("C1", "consent-a")]
    assert run_cli("derive", "--as-of", "2024-06-01", "--db", db, env=LATER).code == 0
    stored = check(db, P, "utility.heating_discount", "2024-06-01")
    [incentive] = stored["incentives"]
    assert [(r["record_id"], r["document_no"]) for r in incentive["records"]] == [("C1", "consent-a")]


# -- time travel --------------------------------------------------------------------------------


def test_known_at_answers_with_what_the_log_knew_then(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, [court("K1", ground="3", decided_on="2025-01-06")])
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    first_run = con.execute("SELECT max(recorded_at) FROM events").fetchall()[0][0]
    con.close()
    load(db, tmp_path, [follow("K1-r", "court", "revoke", "K1", "2025-03-01")])
    now = check(db, P, "flight.economy", "2025-04-01")
    assert now["allowed"]
    then = check(db, P, "flight.economy", "2025-04-01", "--known-at", first_run.isoformat())
    assert not then["allowed"]
    assert then["known_at"] is not None


def test_unknown_subject_unknown_action_and_invalid_code(db: Path) -> None:
    res = check(db, P, "flight.economy", "2025-01-01")
    assert res["allowed"] is True
    assert res["known"] is False
    assert res["decision_id"].startswith("dec-")
    bad_action = run_cli("check", P, "flight.econmy", "--db", db)
    assert bad_action.code == 2
    assert "flight.economy" in bad_action.err
    bad_code = run_cli("check", P[:-1] + ("0" if P[-1] != "0" else "1"), "flight.economy", "--db", db)
    assert bad_code.code == 2
    assert "check character" in bad_code.err


@pytest.mark.parametrize(("fmt", "stored"), [("csv", False), ("parquet", False), ("csv", True), ("parquet", True)])
def test_screen_answers_every_code_and_logs_each_row(db: Path, tmp_path: Path, fmt: str, stored: bool) -> None:
    """Both paths: the decision index over a derive for the date, and an on-the-fly derive."""
    import duckdb
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from socialcredit.decide.screenlog import read_screening

    load(db, tmp_path, [court("SC1", ground="1", decided_on="2025-01-06"), rail("SC2", 2, "2025-01-06", subject=P2)])
    if stored:
        assert run_cli("derive", "--as-of", "2025-03-01", "--db", db, env=LATER).code == 0
    codes = pa.table({"subject_id": [P, P2, P3, "not-a-code", P.lower()]})
    src = tmp_path / f"in.{fmt}"
    (pq.write_table if fmt == "parquet" else pacsv.write_csv)(codes, src)
    out = tmp_path / f"out.{fmt}"
    res = run_cli(
        "screen",
        src,
        "--action",
        "flight.economy",
        "--out",
        out,
        "--db",
        db,
        "--as-of",
        "2025-03-01",
        "--json",
        env=LATER,
    )
    assert res.code == 0, res.err
    assert res.json()["rows"] == 5
    table = pq.read_table(out) if fmt == "parquet" else pacsv.read_csv(out)
    rows = table.to_pylist()
    assert [r["allowed"] for r in rows] == [False, True, True, True, False]
    assert [r["valid"] for r in rows] == [True, True, True, False, True]
    assert rows[0]["restrictions"] == "high_consumption"
    assert rows[0]["lists"] == "judgment_defaulters"
    assert not any(r["restrictions"] for r in rows[1:4])  # empty (CSV) or null (Parquet)
    assert [r["known"] for r in rows] == [True, True, False, False, True]
    ids = [r["decision_id"] for r in rows]
    con = duckdb.connect(str(db), read_only=True)
    summary = con.execute(
        "SELECT decision_id, action, allowed, data_version, measures FROM decisions WHERE screen_id IS NOT NULL"
    ).fetchall()
    con.close()
    assert len(summary) == 1
    screen_id, action, allowed, data_version, measures = summary[0]
    assert (action, allowed) == ("flight.economy", False)
    assert ids == [f"{screen_id}:{k}" for k in range(1, 6)]
    meta, logged = read_screening(Path(json.loads(measures)["log"]))
    assert meta["screen_id"] == screen_id
    assert meta["party"] == "cli"
    assert meta["as_of"] == "2025-03-01"
    assert meta["data_version"] == data_version
    assert meta["source"] == ("index" if stored else "derived")
    assert logged.column("allowed").to_pylist() == [False, True, True, True, False]
    assert logged.column("decision_id").to_pylist() == ids


def test_derive_full_then_current_then_catch_up(db: Path, tmp_path: Path) -> None:
    """A first derive is full; the same date again recomputes nothing; a later date catches up
    only what changed, and answers as a full derive for that date would (``--full`` forces it)."""
    load(db, tmp_path, [court("DV1", ground="1", decided_on="2025-01-06")])

    def derive(as_of: str, *extra: str) -> dict[str, Any]:
        res = run_cli("derive", "--as-of", as_of, *extra, "--db", db, "--json", env=LATER)
        assert res.code == 0, res.err
        data: dict[str, Any] = res.json()
        return data

    first = derive("2025-03-01")
    assert first["mode"] == "full"
    assert first["memberships"] == 1
    again = derive("2025-03-01")
    assert again["mode"] == "current"
    assert again["data_version"] == first["data_version"]
    assert (again["memberships"], again["measures"]) == (first["memberships"], first["measures"])
    later = derive("2027-03-01")  # ground 1 without an end: still listed, measures unchanged
    assert later["mode"] == "catch-up"
    assert later["data_version"].endswith("@2027-03-01")
    assert (later["memberships"], later["measures"]) == (first["memberships"], first["measures"])
    forced = derive("2027-03-01", "--full")  # the same date again, recomputed on request
    assert forced["mode"] == "full"
    assert forced["data_version"] == later["data_version"]
    assert (forced["memberships"], forced["measures"]) == (later["memberships"], later["measures"])

"""The simulator through the whole pipeline (real CLI, real files, real DuckDB): zero rejects
without errors, the same bytes for the same seed, every injected error where it belongs, every
listing explained, and the report's wrong-person count equal to the ground truth."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from PIL import Image

from socialcredit.decide import Decider, DecisionError
from socialcredit.identity import is_valid_org, is_valid_person
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import read_rejects, run_cli

DATA = Path(__file__).parent / "data"
START = "2021-01-01"
AS_OF = "2024-12-31"


def simulate(out: Path, *extra: str | Path, persons: int = 3000, seed: int = 5, years: int = 4) -> dict[str, Any]:
    res = run_cli(
        "simulate",
        "--out",
        out,
        "--persons",
        str(persons),
        "--years",
        str(years),
        "--start",
        START,
        "--seed",
        str(seed),
        "--json",
        *extra,
    )
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    return data


def pipeline(tmp: Path, sim: Path, manifest: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """init + ingest every agency file (in the manifest's order) + derive on AS_OF."""
    db = tmp / "city.duckdb"
    assert run_cli("init", "--db", db).code == 0
    files = [sim / f["file"] for f in manifest["files"]]
    res = run_cli("ingest", "--db", db, "--rejects", tmp / "rejects.jsonl", "--json", *files)
    assert res.code == 0, res.err
    res2 = run_cli("derive", "--db", db, "--as-of", AS_OF, "--json")
    assert res2.code == 0, res2.err
    summary: dict[str, Any] = res.json()
    return db, summary


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def clean_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("clean")
    sim = tmp / "files"
    manifest = simulate(sim)
    db, summary = pipeline(tmp, sim, manifest)
    return sim, db, manifest, summary


@pytest.fixture(scope="module")
def faulty_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("faulty")
    sim = tmp / "files"
    manifest = simulate(sim, "--error-rate", "0.1", "--scenario", DATA / "scenario_listings.yaml", persons=2500, seed=9)
    db, summary = pipeline(tmp, sim, manifest)
    return sim, db, manifest, summary


def test_zero_rejects_without_errors(clean_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    _, db, manifest, summary = clean_city
    assert summary["rejected"] == 0, read_rejects(summary["rejects"])[:5]
    assert summary["accepted"] == summary["rows"] == manifest["events"] > 5000
    assert summary["flagged"] == 0
    assert manifest["errors"] == {"check_character": 0, "transposition": 0, "name_variant": 0}
    # registrations first, so that roles are known before the lists that reach through them
    assert manifest["files"][0]["file"] == "registry.csv"
    con = duckdb.connect(str(db), read_only=True)
    try:
        kinds = dict(con.execute("SELECT action, count(*) FROM events GROUP BY 1").fetchall())
        types = {r[0] for r in con.execute("SELECT DISTINCT type FROM events WHERE action = 'create'").fetchall()}
        lists = {r[0] for r in con.execute("SELECT DISTINCT list FROM d_memberships").fetchall()}
    finally:
        con.close()
    # every kind of follow-up occurs, and the lists fill
    assert {"create", "perform", "delist", "extend", "repair"} <= set(kinds)
    assert {"court.defaulter", "railway.passenger_violation", "admin.penalty", "registry.role"} <= types
    assert {"judgment_defaulters", "railway_restricted", "tax_grade_a"} <= lists


def test_causal_order_and_no_minor_listed(clean_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    _, db, _, _ = clean_city
    con = duckdb.connect(str(db), read_only=True)
    try:
        late = con.execute(
            """
            SELECT count(*) FROM events f JOIN events c
              ON c.source = f.source AND c.record_id = f.record_id AND c.action = 'create'
            WHERE f.action <> 'create' AND f.decided_on < c.decided_on
            """
        ).fetchall()[0][0]
        minors = con.execute(
            """
            SELECT count(*) FROM events
            WHERE action = 'create' AND subject_kind = 'person' AND type <> 'consent.scoring'
              AND decided_on < CAST(strptime(substr(subject_id, 7, 8), '%Y%m%d') AS DATE) + INTERVAL 18 YEAR
            """
        ).fetchall()[0][0]
        delist_reasons = con.execute(
            """
            SELECT json_extract_string(f.attrs, '$.reason'), count(*) FROM events f
            WHERE f.action = 'delist' AND f.type = 'court.defaulter' GROUP BY 1
            """
        ).fetchall()
    finally:
        con.close()
    assert late == 0
    assert minors == 0
    assert dict(delist_reasons).get("performed", 0) > 0


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = simulate(tmp_path / "a", "--error-rate", "0.05", persons=800)
    b = simulate(tmp_path / "b", "--error-rate", "0.05", persons=800)
    simulate(tmp_path / "c", "--error-rate", "0.05", persons=800, seed=6)
    assert a["events"] == b["events"]
    da, db_, dc = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert da == db_
    assert da["court.csv"] != dc["court.csv"]


def test_parquet_output_ingests_cleanly(tmp_path: Path) -> None:
    manifest = simulate(tmp_path / "pq", "--format", "parquet", persons=600, years=2)
    assert all(f["file"].endswith(".parquet") for f in manifest["files"])
    _, summary = pipeline(tmp_path, tmp_path / "pq", manifest)
    assert summary["rejected"] == 0
    assert summary["accepted"] == manifest["events"]


def truth(sim: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(sim / "truth.parquet").to_pylist()
    return rows


def test_injected_errors_land_where_they_belong(faulty_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    sim, db, manifest, summary = faulty_city
    rows = truth(sim)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_kind.setdefault(r["error"], []).append(r)
    assert {k: len(v) for k, v in by_kind.items() if k} == {k: v for k, v in manifest["errors"].items() if v}
    assert all(len(by_kind[k]) > 10 for k in ("check_character", "transposition", "name_variant"))
    rejected = {(Path(r["file"]).stem, r["event_id"]) for r in read_rejects(summary["rejects"])}
    # every wrong check character is rejected
    for r in by_kind["check_character"]:
        assert (r["source"], r["event_id"]) in rejected
        assert not is_valid_person(r["written_subject_id"])
        assert not is_valid_org(r["written_subject_id"])
    # transpositions pass every check: accepted, charged to another valid code
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = dict(con.execute("SELECT source || '/' || event_id, subject_id FROM events").fetchall())
        flagged = con.execute("SELECT count(*) FROM review_flags").fetchall()[0][0]
    finally:
        con.close()
    for r in by_kind["transposition"]:
        assert is_valid_person(r["written_subject_id"])
        assert r["written_subject_id"] != r["subject_id"]
        assert stored[f"{r['source']}/{r['event_id']}"] == r["written_subject_id"]
    # name variants: the right code, accepted; names that disagree with the file are flagged
    for r in by_kind["name_variant"]:
        assert r["written_name"] != r["subject_name"]
        assert stored[f"{r['source']}/{r['event_id']}"] == r["subject_id"]
    assert flagged > 0
    # only the bad check characters and the follow-ups of their records are rejected
    reasons = {e["code"] for r in read_rejects(summary["rejects"]) for e in r["errors"]}
    assert reasons <= {"invalid_subject_id", "unknown_record"}
    assert summary["rows"] == summary["accepted"] + summary["rejected"]


def decider(db: Path) -> tuple[DuckDBStore, Decider]:
    store = DuckDBStore(db, Settings(db=db))
    return store, Decider(store)


def test_every_listing_is_explained(faulty_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    _, db, _, _ = faulty_city
    con = duckdb.connect(str(db), read_only=True)
    try:
        listed = [r[0] for r in con.execute("SELECT DISTINCT subject_id FROM d_measures ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert len(listed) > 50
    store, dec = decider(db)
    try:
        for code in listed:
            file = dec.show(code, date.fromisoformat(AS_OF))
            assert file["known"] is True
            assert file["restrictions"] or file["incentives"], code
            for item in file["restrictions"] + file["incentives"]:
                assert item["legal_basis"], item
                assert item["records"], item
                for rec in item["records"]:
                    assert rec["record_id"], rec
                    assert rec["document_no"], rec
                    assert rec["decided_on"], rec
                if item.get("via"):
                    assert item["via"]["organisation"]
                    assert item["via"]["role"]
    finally:
        store.close()


def test_role_holder_without_records_is_restricted_everywhere(
    faulty_city: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    """A legal representative with no record of their own is on file through the registry: the
    stored screen, the per-subject check and show all restrict them."""
    _, db, _, _ = faulty_city
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT subject_id FROM d_measures WHERE via_role IS NOT NULL AND measure = 'high_consumption' "
            "AND subject_id NOT IN (SELECT subject_id FROM subjects) ORDER BY 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    code = str(row[0])
    codes = tmp_path / "codes.csv"
    codes.write_text(f"subject_id\n{code}\n", encoding="utf-8")
    for as_of in (AS_OF, "2024-12-30"):  # stored state, then a derivation for another day
        res = run_cli(
            "screen", codes, "--action", "flight.economy", "--as-of", as_of, "--out", tmp_path / "o.csv", "--db", db
        )
        assert res.code == 0, res.err
        lines = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
        assert "high_consumption" in lines[1], lines
        assert ",true,false," in lines[1], lines
    check = run_cli("check", code, "flight.economy", "--as-of", AS_OF, "--db", db, "--json")
    assert check.json()["allowed"] is False
    assert check.json()["known"] is True
    show = run_cli("show", code, "--as-of", AS_OF, "--db", db)
    assert "where this subject is" in show.out
    assert "no records of this subject's own" in show.out


def test_report_matches_the_ground_truth(
    faulty_city: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    sim, db, _, _ = faulty_city
    res = run_cli("report", "--db", db, "--out", tmp_path / "rep", "--as-of", AS_OF, "--sim", sim, "--json")
    assert res.code == 0, res.err
    data = res.json()
    # independently: innocent persons (transposed codes) whose every restriction rests only on
    # transposed records, read from their files
    transposed = {(r["source"], r["event_id"]) for r in truth(sim) if r["error"] == "transposition"}
    innocents = sorted({r["written_subject_id"] for r in truth(sim) if r["error"] == "transposition"})
    store, dec = decider(db)
    wrongly_restricted = set()
    try:
        for code in innocents:
            file = dec.show(code, date.fromisoformat(AS_OF))
            for item in file["restrictions"]:
                if item.get("via"):
                    continue
                if all((r["source"], r["record_id"]) in transposed for r in item["records"]):
                    wrongly_restricted.add(code)
    finally:
        store.close()
    assert wrongly_restricted, "the test scenario should hit innocent people"
    assert data["wrong_person"]["restricted_subjects"] == len(wrongly_restricted)
    assert sorted(data["wrong_person"]["subjects"]) == sorted(wrongly_restricted)
    assert data["headline"]["wrong_person_restricted"] == len(wrongly_restricted)
    # the page shows the same number, and its charts are real images
    html = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert f"{len(wrongly_restricted)} innocent subject(s)" in html
    for png in ("scores", "lists", "new_restrictions", "incentives", "reasons", "rejects", "wrong_person"):
        assert f'src="{png}.png"' in html
        with Image.open(tmp_path / "rep" / f"{png}.png") as img:
            assert img.size[0] >= 800
            assert img.size[1] >= 250
    assert data["rejects_by_reason"]["invalid_subject_id"] > 0
    assert data["list_sizes"]["judgment_defaulters"] > 0
    assert data["list_sizes_monthly"]["judgment_defaulters"][-1][1] == data["list_sizes"]["judgment_defaulters"]


def test_bad_scenario_is_refused_with_reasons(tmp_path: Path) -> None:
    text = (DATA / "scenario_listings.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("traffic.violation", "religion.attendance").replace("{court: 1}", "{bank: 1}"))
    res = run_cli("simulate", "--out", tmp_path / "x", "--scenario", bad, "--persons", "100", "--start", START)
    assert res.code == 2
    assert "type religion.attendance is not in the catalog" in res.err
    assert "source bank may not submit court.defaulter" in res.err
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("share: 0.3, days: [30, 300]", "share: 1.5, days: [30, 300]"))
    res = run_cli("simulate", "--out", tmp_path / "y", "--scenario", broken, "--persons", "100", "--start", START)
    assert res.code == 2
    assert "share" in res.err


def test_future_period_is_refused(tmp_path: Path) -> None:
    start = date(datetime.now().year, 1, 1).isoformat()
    res = run_cli("simulate", "--out", tmp_path / "x", "--persons", "100", "--years", "3", "--start", start)
    assert res.code == 2
    assert "ingest refuses future dates" in res.err


def test_manifest_lists_every_file(clean_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    sim, _, manifest, _ = clean_city
    written = json.loads((sim / "manifest.json").read_text(encoding="utf-8"))
    assert written["files"] == manifest["files"]
    for f in manifest["files"]:
        assert (sim / f["file"]).exists()
    assert (sim / "persons.parquet").exists()
    assert (sim / "organisations.parquet").exists()
    persons = pq.read_table(sim / "persons.parquet")
    assert persons.num_rows == 3000
    assert len(set(persons.column("subject_id").to_pylist())) == 3000


def test_batch_answers_equal_single_answers(faulty_city: tuple[Path, Path, dict[str, Any], dict[str, Any]]) -> None:
    """``Decider.answer_many`` (the HTTP batch check: one query per table) gives, item by item,
    the answer of ``answer`` (one subject at a time), invalid codes and unknown actions included."""
    sim, db, _, _ = faulty_city
    con = duckdb.connect(str(db), read_only=True)
    try:
        listed = [
            r[0] for r in con.execute("SELECT DISTINCT subject_id FROM d_measures ORDER BY 1 LIMIT 150").fetchall()
        ]
    finally:
        con.close()
    others = pq.read_table(sim / "persons.parquet").column("subject_id").to_pylist()[:100]
    actions = ["flight.economy", "rail.g.second", "service.fast_track", "procurement.bid"]
    items = [(code, actions[i % len(actions)]) for i, code in enumerate(listed + others)]
    items += [("110105199001010351", "flight.economy"), (listed[0], "flight.no_such_class")]
    as_of = date.fromisoformat(AS_OF)
    store, dec = decider(db)
    try:
        many = dec.answer_many(items, as_of, "batch")
        for (code, action), got in zip(items, many, strict=True):
            try:
                one: Any = dec.answer(code, action, as_of, None, "batch")
            except DecisionError as exc:
                one = exc
            if isinstance(one, DecisionError):
                assert isinstance(got, DecisionError)
                assert (got.code, str(got)) == (one.code, str(one))
                continue
            assert not isinstance(got, DecisionError)
            assert {k: v for k, v in got.items() if k != "decision_id"} == {
                k: v for k, v in one.items() if k != "decision_id"
            }
    finally:
        store.close()
    assert sum(1 for a in many if not isinstance(a, DecisionError) and not a["allowed"]) > 20

"""End to end: the bundled sample through the real CLI into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

from socialcredit.sample import sample_files, sample_subject

from conftest import codes_by_event, event_count, ingest, read_rejects, run_cli


def test_sample_ingest_prints_summary_whose_counts_add_up(db: Path, tmp_path: Path) -> None:
    res = ingest(db, *sample_files(), rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = res.json()
    assert set(summary) >= {"rows", "accepted", "duplicates", "rejected", "rejects"}
    assert summary["rows"] == summary["accepted"] + summary["duplicates"] + summary["rejected"]
    assert summary["rows"] == 23
    assert summary["accepted"] == 18
    assert summary["rejected"] == 5
    assert summary["rejects"] == str(tmp_path / "rej.jsonl")
    assert event_count(db) == 18
    rejected = codes_by_event(read_rejects(summary["rejects"]))
    assert rejected == {
        "C-2024-003": {"minor"},
        "C-2024-004": {"invalid_date", "invalid_subject_id", "out_of_range"},
        "RW-25-0004": {"unknown_field"},
        "M-2026-0102": {"repair_too_early"},
        "M-2026-0104": {"invalid_value"},
    }


def test_reingesting_the_sample_gives_duplicates_and_writes_nothing(db: Path, tmp_path: Path) -> None:
    first = ingest(db, *sample_files(), rejects=tmp_path / "a.jsonl").json()
    second = ingest(db, *sample_files(), rejects=tmp_path / "b.jsonl").json()
    assert second["accepted"] == 0
    assert second["duplicates"] == first["accepted"]
    assert second["rejected"] == first["rejected"]
    assert event_count(db) == first["accepted"]


def test_events_shows_the_subject_in_log_order(db: Path, tmp_path: Path) -> None:
    ingest(db, *sample_files(), rejects=tmp_path / "r.jsonl")
    res = run_cli("events", sample_subject(), "--db", db, "--json")
    assert res.code == 0, res.err
    data = res.json()
    assert data["subject"] == sample_subject()
    types = [e["type"] for e in data["events"]]
    assert types == ["consent.scoring", "civil.volunteer_month", "civil.blood_donation"]
    seqs = [e["seq"] for e in data["events"]]
    assert seqs == sorted(seqs)
    assert all(e["catalog_version"].startswith("sha256:") for e in data["events"])
    assert data["events"][1]["quantity"] == 6
    assert data["events"][0]["file"] == "citizens.csv"
    assert data["events"][0]["line"] == 2


def test_events_refuses_an_invalid_code(db: Path) -> None:
    res = run_cli("events", "11010519491231002Y", "--db", db)
    assert res.code == 2
    assert "not a valid identity code" in res.err


def test_demo_runs_and_is_safe_to_rerun(tmp_path: Path) -> None:
    """The main job on a small city: simulate, ingest, derive, report, explain a real subject.
    The second run reuses the simulation and finds every row a duplicate."""
    directory = tmp_path / "demo"
    args = ("demo", "--persons", "4000", "--dir", directory)
    res = run_cli(*args)
    assert res.code == 0, res.err
    for stage in ("simulate", "ingest", "derive", "report"):
        assert f"✓ {stage}" in res.out
    assert "rejects by reason" in res.out
    assert "invalid_subject_id" in res.out
    assert "wrong-person harm" in res.out
    assert (directory / "report" / "index.html").exists()
    # a real subject of the run (a listed company's legal representative when the city has
    # one): not allowed to fly, and why
    assert "NOT ALLOWED" in res.out
    assert "where this subject is" in res.out or "because the subject is on the" in res.out
    assert "legal basis" in res.out
    assert "socialcredit show " in res.out
    events = event_count(directory / "socialcredit.duckdb")
    assert events > 10_000
    again = run_cli(*args)
    assert again.code == 0, again.err
    assert "reusing the simulation" in again.out
    assert f"/ 0 / {events:,} /" in again.out  # read / accepted / duplicates / rejected
    assert event_count(directory / "socialcredit.duckdb") == events

"""End to end: the bundled sample through the real CLI into a real DuckDB file."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from socialcredit.sample import sample_files, sample_subject

from conftest import codes_by_event, event_count, ingest, read_rejects, run_cli
from server import free_port


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
    assert "socialcredit demo --serve" in res.out
    again = _serving_demo(args, directory)
    assert "reusing the simulation" in again
    assert f"/ 0 / {events:,} /" in again  # read / accepted / duplicates / rejected
    assert event_count(directory / "socialcredit.duckdb") == events


def _serving_demo(args: tuple[str | Path, ...], directory: Path) -> str:
    """Run ``demo ... --serve``; follow the printed curl commands against the server it starts
    (a check of the demo's subject by the relying party, the subject's file by the operator,
    the public list), then interrupt it; its output."""
    port = free_port()
    env = {**os.environ, "SOCIALCREDIT_PROGRESS": "false", "COLUMNS": "400", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "socialcredit", *map(str, args), "--serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(1200):  # waiting for the demo to reach serving, not a timed assertion
            if proc.poll() is not None:
                raise AssertionError("".join(lines))
            try:
                if httpx.get(base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        commands = [shlex.split(line.strip()) for line in list(lines) if line.startswith("curl ")]
        assert len(commands) == 3, "".join(lines)
        for command in commands:
            url = command[-1]
            headers = dict([command[2].split(": ", 1)]) if command[1] == "-H" else {}
            response = httpx.get(url, headers=headers, timeout=60)
            assert response.status_code == 200, response.text
            body = response.json()
            if "/check/" in url:
                assert body["allowed"] is False
                assert body["party"] == "demo airline and railway"
                assert body["restrictions"][0]["legal_basis"]
            elif "/subjects/" in url:
                assert any(x["decision_id"] for x in body["lookups"])
            else:
                assert body["total"] > 0
                assert len(body["entries"]) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    return "".join(lines)

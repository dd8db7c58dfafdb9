"""The DuckDB store: schema versions and migrations, catalogs, the published watermark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from socialcredit.catalog import catalog_version, load_default
from socialcredit.derive.sql import records_list
from socialcredit.settings import Settings
from socialcredit.store.base import StoreError
from socialcredit.store.duckdb_store import DuckDBStore
from socialcredit.store.migrations import LATEST, MEASURES_VIEW, RECORDS_TYPE

from conftest import event_count, ingest, org, person, run_cli, write_csv


def test_init_creates_migrates_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "a" / "sc.duckdb"
    first = run_cli("init", "--db", db, "--json")
    assert first.code == 0, first.err
    data = first.json()
    assert data["schema_version"] == LATEST
    assert data["migrations_applied"] == list(range(1, LATEST + 1))
    assert data["catalog_version"] == catalog_version(load_default())
    second = run_cli("init", "--db", db, "--json")
    assert second.code == 0
    assert second.json()["migrations_applied"] == []


def test_database_path_from_the_environment(tmp_path: Path) -> None:
    res = run_cli("init", env={"SOCIALCREDIT_DB": str(tmp_path / "env.duckdb")})
    assert res.code == 0, res.err
    assert (tmp_path / "env.duckdb").exists()
    res = run_cli("init", cwd=tmp_path)
    assert res.code == 0, res.err
    assert (tmp_path / "socialcredit.duckdb").exists()


def test_commands_need_an_initialised_database(tmp_path: Path) -> None:
    res = run_cli("events", person(), "--db", tmp_path / "none.duckdb")
    assert res.code == 2
    assert "socialcredit init" in res.err
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    res = run_cli("events", person(), "--db", empty)
    assert res.code == 2
    assert "not initialised" in res.err


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "sc.duckdb"
    assert run_cli("init", "--db", db).code == 0
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES (999, 'from the future', now())")
    con.close()
    res = run_cli("init", "--db", db)
    assert res.code == 2
    assert "newer" in res.err


def test_catalogs_are_kept_by_version(tmp_path: Path) -> None:
    settings = Settings(db=tmp_path / "x.duckdb")
    with DuckDBStore(settings.db, settings) as store:
        store.migrate()
        v1 = store.store_catalog(load_default())
        assert store.store_catalog(load_default()) == v1
        version, catalog = store.active_catalog()
        assert version == v1
        assert catalog_version(catalog) == v1
        count = store.con.execute("SELECT count(*) FROM catalogs").fetchall()[0][0]
        assert count == 1


def test_active_catalog_needs_init(tmp_path: Path) -> None:
    settings = Settings(db=tmp_path / "y.duckdb")
    with DuckDBStore(settings.db, settings) as store, pytest.raises(StoreError, match="init"):
        store.active_catalog()


def test_unpublished_rows_are_invisible_and_discarded(db: Path, tmp_path: Path) -> None:
    """Rows above the watermark (an ingest that died before publishing) never show and are
    removed by the next ingest; the published log is unchanged."""
    row = {
        "event_id": "E1",
        "source": "traffic",
        "subject_id": person(),
        "subject_name": "王芳",
        "type": "traffic.violation",
        "decided_on": "2025-01-02",
    }
    assert ingest(db, write_csv(tmp_path / "a.csv", [row]), rejects=tmp_path / "r.jsonl").code == 0
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO events SELECT seq + 100, run_id + 1, source, 'ORPHAN', action, 'ORPHAN', subject_id, "
        "subject_kind, subject_name, type, decided_on, document_no, amount, quantity, attrs, "
        "recorded_at, catalog_version, file, line, record_seq FROM events"
    )
    con.close()
    assert event_count(db) == 1
    listed = run_cli("events", person(), "--db", db, "--json").json()["events"]
    assert [e["event_id"] for e in listed] == ["E1"]
    row2 = {**row, "event_id": "E2"}
    res = ingest(db, write_csv(tmp_path / "b.csv", [row2]), rejects=tmp_path / "r2.jsonl")
    assert res.code == 0, res.err
    con = duckdb.connect(str(db), read_only=True)
    ids = [r[0] for r in con.execute("SELECT event_id FROM events ORDER BY seq").fetchall()]
    con.close()
    assert ids == ["E1", "E2"]


def test_runs_are_hash_chained(db: Path, tmp_path: Path) -> None:
    base = {"source": "traffic", "subject_id": person(), "subject_name": "王芳", "type": "traffic.violation"}
    for i in range(3):
        rows = [{**base, "event_id": f"E{i}-{j}", "decided_on": "2025-01-02"} for j in range(2)]
        assert ingest(db, write_csv(tmp_path / f"{i}.csv", rows), rejects=tmp_path / "r.jsonl").code == 0
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("SELECT run_id, digest, prev_digest, accepted FROM ingest_runs ORDER BY run_id").fetchall()
    con.close()
    assert [r[3] for r in runs] == [2, 2, 2]
    assert runs[0][2] == "0" * 64
    assert runs[1][2] == runs[0][1]
    assert runs[2][2] == runs[1][1]
    assert len({r[1] for r in runs}) == 3


def test_verify_recomputes_the_chain_and_finds_tampering(db: Path, tmp_path: Path) -> None:
    base = {"source": "traffic", "subject_id": person(), "subject_name": "王芳", "type": "traffic.violation"}
    for i in range(3):
        rows = [{**base, "event_id": f"E{i}-{j}", "decided_on": "2025-01-02"} for j in range(3)]
        assert ingest(db, write_csv(tmp_path / f"{i}.csv", rows), rejects=tmp_path / "r.jsonl").code == 0
    res = run_cli("verify", "--db", db, "--json")
    assert res.code == 0, res.err
    assert res.json() == {"runs": 3, "intact": True, "broken": []}
    con = duckdb.connect(str(db))
    con.execute("UPDATE events SET subject_name = '李强' WHERE event_id = 'E1-2'")
    con.close()
    res = run_cli("verify", "--db", db, "--json")
    assert res.code == 1
    broken = res.json()["broken"]
    assert [b["run_id"] for b in broken] == [2]
    assert "changed" in broken[0]["problems"][0]
    con = duckdb.connect(str(db))
    con.execute("UPDATE events SET subject_name = '王芳' WHERE event_id = 'E1-2'")
    con.execute("DELETE FROM events WHERE event_id = 'E2-0'")
    con.close()
    res = run_cli("verify", "--db", db)
    assert res.code == 1
    assert "run 3" in res.err
    assert "holds 2 events but recorded 3" in res.err


def test_digests_recorded_at_ingest_match_the_stored_events(db: Path, tmp_path: Path) -> None:
    """The digest terms are gathered chunk by chunk while rows are appended; verify recomputes
    them from the stored events (sample files of every format; a multi-chunk file whose
    follow-up precedes its record, with rejects and duplicates; a file with blank lines)."""
    from socialcredit.sample import sample_files

    base = {"source": "traffic", "subject_name": "王芳", "type": "traffic.violation", "decided_on": "2025-01-02"}
    rows: list[dict[str, str]] = [
        {**base, "event_id": "C1", "action": "correct", "record_id": "E2400", "decided_on": "2025-02-01"}
    ]
    rows += [{**base, "event_id": f"E{i}", "subject_id": person(seq=i % 50 + 1)} for i in range(2500)]
    rows += [{**base, "event_id": "E7", "subject_id": person(seq=8)}, {**base, "event_id": "BAD", "subject_id": "x"}]
    big = write_csv(tmp_path / "big.csv", rows)
    renamed = [{**r, "event_id": "B" + r["event_id"], "record_id": "B" + r.get("record_id", "")} for r in rows]
    blank = write_csv(
        tmp_path / "blank.csv", [{**r, "record_id": r["record_id"][1:] and r["record_id"]} for r in renamed]
    )
    blank.write_text(blank.read_text(encoding="utf-8").replace("\n", "\n\n", 3), encoding="utf-8")
    env = {"SOCIALCREDIT_INGEST_CHUNK_ROWS": "1000"}
    res = ingest(db, *sample_files(), big, blank, rejects=tmp_path / "r.jsonl", env=env)
    assert res.code == 0, res.err
    files = res.json()["files"]
    assert [f["accepted"] > 2000 and f["duplicates"] == 1 and f["rejected"] == 1 for f in files[-2:]] == [True, True]
    res = run_cli("verify", "--db", db, "--json")
    assert res.code == 0, res.err
    assert res.json()["intact"] is True


def _undo_record_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Return a database to the form before migration 8: the records behind a membership as a
    list of structs in ``d_memberships.records``, as the derive wrote them then."""
    records = records_list("d_membership_records", "m.subject_id", "m.list")
    con.execute(
        f"CREATE TABLE d_memberships_old AS "
        f"SELECT m.*, CAST({records} AS {RECORDS_TYPE}) AS records FROM d_memberships m"
    )
    con.execute("DROP VIEW d_measures")
    con.execute("DROP TABLE d_memberships")
    con.execute("DROP TABLE d_membership_records")
    con.execute("ALTER TABLE d_memberships_old RENAME TO d_memberships")
    con.execute(MEASURES_VIEW)
    con.execute("DELETE FROM schema_version WHERE version = 8")


def _undo_record_lists(con: duckdb.DuckDBPyConnection) -> None:
    """Return a database to the form before migration 7: the records behind a membership as the
    JSON text the derive wrote then."""
    _undo_record_rows(con)
    con.execute("ALTER TABLE d_memberships ALTER records TYPE VARCHAR USING CAST(to_json(records) AS VARCHAR)")
    con.execute("DELETE FROM schema_version WHERE version = 7")


def _undo_measure_links(con: duckdb.DuckDBPyConnection) -> None:
    """Return a database to the form before migration 6: ``d_measures`` a table holding every
    measure row (those the view gave)."""
    _undo_record_lists(con)
    con.execute("CREATE TABLE d_measures_old AS SELECT * FROM d_measures")
    con.execute("DROP VIEW d_measures")
    con.execute("DROP TABLE d_measures_via")
    con.execute("DROP TABLE d_measure_links")
    con.execute("ALTER TABLE d_measures_old RENAME TO d_measures")
    con.execute("DELETE FROM schema_version WHERE version = 6")


def _memberships(db: Path) -> list[tuple[Any, ...]]:
    """The stored memberships, each with the list of its records (read from their own table)."""
    records = records_list("d_membership_records", "m.subject_id", "m.list")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT m.*, {records} FROM d_memberships m ORDER BY subject_id, list").fetchall()
    finally:
        con.close()


def _record_seqs(db: Path) -> dict[str, str | None]:
    """Each event's ``record_seq``, as the event id of the create it points at."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT e.event_id, c.event_id FROM events e LEFT JOIN events c ON c.seq = e.record_seq"
        ).fetchall()
        seqs = con.execute("SELECT event_id, action, record_seq FROM events").fetchall()
    finally:
        con.close()
    assert all((rs is None) == (action == "create") for _, action, rs in seqs)
    return dict(rows)


def test_follow_ups_carry_their_records_seq_and_an_older_log_is_migrated(db: Path, tmp_path: Path) -> None:
    """``record_seq`` of a follow-up is the seq of its record's create: for a record created
    in the same chunk, earlier in the file (a follow-up before its create waits for the final
    pass), or in an earlier run. Migration 5 fills it the same way in a log written without it."""

    def row(event_id: str, **fields: str) -> dict[str, str]:
        base = {
            "event_id": event_id,
            "source": "court",
            "subject_id": person(),
            "subject_name": "王芳",
            "type": "court.defaulter",
            "decided_on": "2025-01-02",
            "document_no": f"D-{event_id}",
            "ground": "1",
        }
        return {**base, **fields}

    def follow(event_id: str, action: str, record: str) -> dict[str, str]:
        return {
            "event_id": event_id,
            "source": "court",
            "action": action,
            "record_id": record,
            "decided_on": "2025-03-01",
        }

    first = write_csv(
        tmp_path / "a.csv", [follow("F0", "perform", "R2"), row("C1"), follow("P1", "perform", "C1"), row("R2")]
    )
    assert ingest(db, first, rejects=tmp_path / "a.rej").json()["accepted"] == 4
    second = write_csv(tmp_path / "b.csv", [follow("D1", "delist", "C1") | {"reason": "performed"}])
    assert ingest(db, second, rejects=tmp_path / "b.rej").json()["accepted"] == 1
    expected = {"C1": None, "R2": None, "F0": "R2", "P1": "C1", "D1": "C1"}
    assert _record_seqs(db) == expected
    shown = run_cli("show", person(), "--db", db, "--as-of", "2025-06-01", "--json").json()

    con = duckdb.connect(str(db))
    _undo_measure_links(con)
    con.execute("ALTER TABLE events DROP COLUMN record_seq")
    con.execute("DELETE FROM schema_version WHERE version = 5")
    con.close()
    res = run_cli("init", "--db", db, "--json")
    assert res.code == 0, res.err
    assert res.json()["migrations_applied"] == [5, 6, 7, 8]
    assert _record_seqs(db) == expected
    again = run_cli("show", person(), "--db", db, "--as-of", "2025-06-01", "--json").json()
    assert again == shown
    history = {r["record_id"]: [h["event_id"] for h in r["history"]] for r in shown["records"]}
    assert history == {"C1": ["C1", "P1", "D1"], "R2": ["F0", "R2"]}


def test_measures_are_read_from_memberships_and_an_older_store_is_migrated(db: Path, tmp_path: Path) -> None:
    # A listed company, its legal representative (reached through the role) and a listed
    # person: d_measures gives the measures of the memberships (through the links of the
    # memoranda in force) and the stored measures through roles.
    company, rep, other = org(), person(), person("110105", "19850101", 3)
    rows = [
        {
            "event_id": "C1",
            "source": "court",
            "subject_id": company,
            "subject_name": "某公司",
            "type": "court.defaulter",
            "decided_on": "2025-01-02",
            "document_no": "D-1",
            "ground": "1",
        },
        {
            "event_id": "C2",
            "source": "court",
            "subject_id": other,
            "subject_name": "李强",
            "type": "court.defaulter",
            "decided_on": "2025-01-02",
            "document_no": "D-2",
            "ground": "1",
        },
        {
            "event_id": "R1",
            "source": "registry",
            "subject_id": company,
            "subject_name": "某公司",
            "type": "registry.role",
            "decided_on": "2024-01-02",
            "person_id": rep,
            "role": "legal_representative",
        },
    ]
    assert ingest(db, write_csv(tmp_path / "a.csv", rows), rejects=tmp_path / "a.rej").json()["accepted"] == 3
    assert run_cli("derive", "--db", db, "--json").code == 0

    def measures() -> list[tuple[object, ...]]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute("SELECT * FROM d_measures ORDER BY ALL").fetchall()
        finally:
            con.close()

    stored = measures()
    memberships = _memberships(db)
    assert {r["record_id"] for m in memberships for r in m[-1]} == {"C1", "C2"}
    by_subject = {s: {r[2] for r in stored if r[0] == s} for s in (company, rep, other)}
    assert by_subject[company]
    assert by_subject[company] == by_subject[other]
    assert by_subject[rep]
    assert by_subject[rep] <= by_subject[company]
    assert {r[7] for r in stored if r[0] == rep} == {"legal_representative"}
    con = duckdb.connect(str(db))
    try:
        # only the measures through roles are rows of their own
        assert con.execute("SELECT DISTINCT subject_id FROM d_measures_via").fetchall() == [(rep,)]
        _undo_measure_links(con)
    finally:
        con.close()
    res = run_cli("init", "--db", db, "--json")
    assert res.code == 0, res.err
    assert res.json()["migrations_applied"] == [6, 7, 8]
    assert measures() == stored
    # migration 7 turns the JSON text back into the same records, dates typed, and migration 8
    # makes them rows of their own
    assert _memberships(db) == memberships
    checked = run_cli("check", rep, "flight.business", "--db", db, "--json").json()
    assert checked["allowed"] is False
    assert {r["via"]["organisation"] for r in checked["restrictions"]} == {company}

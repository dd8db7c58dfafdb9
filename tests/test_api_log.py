"""The decision log of the HTTP service: every answered check is in the ``decisions`` table
before the answer leaves, and stays there when the server is killed with SIGKILL."""

from __future__ import annotations

from pathlib import Path

from socialcredit.sample import sample_subject

from server import PARTY, query, sample_db, start_server

SUBJECT = sample_subject()


def test_every_answer_is_logged_with_party_purpose_and_versions(tmp_path: Path) -> None:
    db, keys = sample_db(tmp_path)
    server = start_server(db, tmp_path / "server.log")
    server.keys = keys
    try:
        with server.client("relying_party") as client:
            one = client.get(f"/check/{SUBJECT}/flight.economy").json()
            batch = client.post(
                "/check",
                json={"items": [{"subject_id": SUBJECT, "action": a} for a in ("flight.first", "flight.business")]},
            ).json()
            refused = client.get(f"/check/{SUBJECT}/rail.g.second")
        assert refused.status_code == 403
        with server.client("operator") as client:
            op = client.get(f"/check/{SUBJECT}/rail.g.second", params={"purpose": "audit 7"}).json()
    finally:
        server.stop()
    answers = [one, *batch["results"], op]
    rows = query(
        db,
        "SELECT decision_id, party, purpose, subject_id, action, allowed, as_of, catalog_version, data_version "
        "FROM decisions WHERE party <> 'cli' ORDER BY decided_at, decision_id",
    )
    logged = {r[0]: r[1:] for r in rows}
    assert len(rows) == len(answers) == 4
    for a in answers:
        party, purpose, subject, action, allowed, as_of, catalog_version, data_version = logged[a["decision_id"]]
        assert (party, subject, action, allowed) == (a["party"], a["subject"], a["action"], a["allowed"])
        assert (str(as_of), catalog_version, data_version) == (a["as_of"], a["catalog_version"], a["data_version"])
        assert purpose == ("audit 7" if party == "ops desk" else "flight.*")
    assert {a["party"] for a in answers} == {PARTY, "ops desk"}


def test_logged_decisions_survive_a_kill_9(tmp_path: Path) -> None:
    db, keys = sample_db(tmp_path)
    server = start_server(db, tmp_path / "server.log")
    server.keys = keys
    ids: list[str] = []
    try:
        with server.client("relying_party") as client:
            for action in ("flight.economy", "flight.first", "flight.business"):
                ids.append(client.get(f"/check/{SUBJECT}/{action}").json()["decision_id"])
            body = client.post("/check", json={"items": [{"subject_id": SUBJECT, "action": "flight.economy"}] * 50})
            ids += [r["decision_id"] for r in body.json()["results"]]
    finally:
        server.kill()
    assert server.proc.returncode == -9
    logged = {r[0] for r in query(db, "SELECT decision_id FROM decisions")}
    assert set(ids) <= logged
    assert len(set(ids)) == 53
    restarted = start_server(db, tmp_path / "again.log")
    restarted.keys = keys
    try:
        with restarted.client("subject") as client:
            lookups = client.get(f"/subjects/{SUBJECT}").json()["lookups"]
    finally:
        restarted.stop()
    assert set(ids) <= {x["decision_id"] for x in lookups}

"""The HTTP endpoints over a real socket against a real server: the CLI's contracts, scoping of
agencies, relying parties and subjects, limits and the error envelope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from socialcredit.api.models import CheckAnswer, SubjectFile
from socialcredit.sample import sample_subject

from conftest import run_cli
from server import ENV, OTHER_SUBJECT, PARTY, Server, assert_envelope, query, sample_db, serving, start_server

SUBJECT = sample_subject()


@pytest.fixture(scope="module")
def cli_answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A server over the sample, and the CLI's answers taken before it started."""
    folder = tmp_path_factory.mktemp("service")
    db, keys = sample_db(folder)
    answers = {
        "check": run_cli("check", SUBJECT, "flight.economy", "--db", db, "--json", env=ENV).json(),
        "show": run_cli("show", SUBJECT, "--db", db, "--json", env=ENV).json(),
    }
    for running in serving(db, keys, folder / "server.log"):
        yield running, answers


@pytest.fixture
def server(cli_answers: tuple[Server, dict[str, Any]]) -> Server:
    return cli_answers[0]


def _shape(value: Any) -> Any:
    """Keys and nesting of a JSON value (not the values)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__ if value is not None else None


# -- check ---------------------------------------------------------------------------------------


def test_check_answers_exactly_as_the_cli(cli_answers: tuple[Server, dict[str, Any]]) -> None:
    server, answers = cli_answers
    with server.client("relying_party") as client:
        api = client.get(f"/check/{SUBJECT}/flight.economy").json()
    cli = answers["check"]
    assert api["allowed"] is False
    assert api["party"] == PARTY
    assert api["decision_id"].startswith("dec-")
    assert api["decision_id"] != cli["decision_id"]
    different = {"decision_id", "party"}
    assert {k: v for k, v in api.items() if k not in different} == {k: v for k, v in cli.items() if k not in different}
    assert _shape(api) == _shape({**cli, "party": PARTY})
    CheckAnswer.model_validate(api)


def test_check_of_an_unknown_action_names_the_nearest(server: Server) -> None:
    with server.client("relying_party") as client:
        error = assert_envelope(client.get(f"/check/{SUBJECT}/flight.econmy"), 422, "unknown_action")
    assert "flight.economy" in error["details"]["nearest"]


def test_check_of_an_invalid_code_is_refused(server: Server) -> None:
    with server.client("operator") as client:
        error = assert_envelope(client.get("/check/371082199003120245/flight.economy"), 422, "invalid_subject_id")
    assert "check character" in error["message"]


def test_relying_party_checks_only_actions_of_its_purposes(server: Server) -> None:
    with server.client("relying_party") as client:
        assert client.get(f"/check/{SUBJECT}/flight.business").status_code == 200
        error = assert_envelope(client.get(f"/check/{SUBJECT}/rail.g.second"), 403, "purpose_not_allowed")
        assert error["details"] == {"action": "rail.g.second", "purposes": ["flight.*"]}
        items = [{"subject_id": SUBJECT, "action": a} for a in ("flight.first", "rail.g.second")]
        batch = {"items": items}
        assert_envelope(client.post("/check", json=batch), 403, "purpose_not_allowed")


def test_operator_checks_any_action_with_its_purpose(server: Server) -> None:
    with server.client("operator") as client:
        response = client.get(f"/check/{OTHER_SUBJECT}/rail.g.second", params={"purpose": "support ticket 42"})
    assert response.status_code == 200
    assert response.json()["party"] == "ops desk"


def test_batch_check_gives_each_item_its_own_decision(server: Server) -> None:
    items = [
        {"subject_id": SUBJECT, "action": "flight.economy"},
        {"subject_id": "371082199003120245", "action": "flight.economy"},
        {"subject_id": "110105196011200463", "action": "flight.first"},
        {"subject_id": SUBJECT, "action": "flight.economy"},
    ]
    with server.client("relying_party") as client:
        body = client.post("/check", json={"items": items}).json()
    assert body["count"] == 4
    assert body["decisions"] == 3
    first, bad, other, again = body["results"]
    assert first["allowed"] is False
    assert first["subject"] == SUBJECT
    assert bad == {
        "index": 1,
        "subject_id": "371082199003120245",
        "action": "flight.economy",
        "error": bad["error"],
    }
    assert bad["error"]["code"] == "invalid_subject_id"
    assert other["allowed"] is True
    ids = {first["decision_id"], other["decision_id"], again["decision_id"]}
    assert len(ids) == 3
    CheckAnswer.model_validate(first)


def test_a_batch_beyond_the_limit_is_refused(server: Server) -> None:
    items = [{"subject_id": SUBJECT, "action": "flight.economy"}] * 10_001
    with server.client("relying_party") as client:
        error = assert_envelope(client.post("/check", json={"items": items}), 413, "batch_too_large")
    assert error["details"] == {"items": 10_001, "limit": 10_000}


# -- subjects ------------------------------------------------------------------------------------


def test_a_subject_sees_its_file_as_the_cli_shows_it_and_every_lookup(
    cli_answers: tuple[Server, dict[str, Any]],
) -> None:
    server, answers = cli_answers
    with server.client("relying_party") as client:
        decided = client.get(f"/check/{SUBJECT}/flight.first").json()
    with server.client("subject") as client:
        mine = client.get(f"/subjects/{SUBJECT}").json()
    lookups = mine.pop("lookups")
    assert mine == answers["show"]
    SubjectFile.model_validate({**mine, "lookups": lookups})
    ours = [x for x in lookups if x["decision_id"] == decided["decision_id"]]
    assert ours == [
        {
            "decision_id": decided["decision_id"],
            "decided_at": ours[0]["decided_at"],
            "party": PARTY,
            "purpose": "flight.*",
            "action": "flight.first",
            "allowed": False,
            "as_of": decided["as_of"],
            "screen_id": None,
        }
    ]


def test_a_subject_cannot_read_another_file(server: Server) -> None:
    with server.client("subject") as client:
        error = assert_envelope(client.get(f"/subjects/{OTHER_SUBJECT}"), 403, "subject_not_allowed")
        assert error["details"] == {"subject_id": OTHER_SUBJECT}
    with server.client("subject_other") as client:
        assert_envelope(client.get(f"/subjects/{SUBJECT}"), 403, "subject_not_allowed")
        assert client.get(f"/subjects/{OTHER_SUBJECT}").json()["subject"] == OTHER_SUBJECT


def test_a_subject_file_for_an_invalid_code_is_refused(server: Server) -> None:
    with server.client("operator") as client:
        assert_envelope(client.get("/subjects/12345"), 422, "invalid_subject_id")


# -- records -------------------------------------------------------------------------------------


def _court_row(event_id: str, subject: str = OTHER_SUBJECT, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "subject_id": subject,
        "subject_name": "张伟",
        "type": "court.defaulter",
        "decided_on": "2026-03-04",
        "document_no": f"(2026)京0105执{event_id}号之一",
        "attrs": {"ground": 4, "case_no": f"(2026)京0105执{event_id}号"},
        **extra,
    }


def test_agency_submission_is_ingested_with_the_rejects_inline(server: Server) -> None:
    rows = [_court_row("S1"), _court_row("S2", subject="110105199001010353"), _court_row("S1")]
    with server.client("agency") as client:
        response = client.post("/records", json=rows)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["rows"], summary["accepted"], summary["duplicates"], summary["rejected"]) == (3, 1, 1, 1)
    [reject] = summary["rejects"]
    assert reject["index"] == 1
    assert reject["event_id"] == "S2"
    assert {e["code"] for e in reject["errors"]} == {"invalid_subject_id"}
    assert summary["files"][0]["file"].startswith("api-court-")
    with server.client("agency") as client:
        again = client.post("/records", json=[_court_row("S1")]).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_agency_submits_only_its_own_source(server: Server) -> None:
    with server.client("agency") as client:
        error = assert_envelope(
            client.post("/records", json=[_court_row("X1"), _court_row("X2", source="railway")]),
            403,
            "source_not_allowed",
        )
    assert error["details"] == {"source": "court", "rows": [1]}
    railway_row = {
        "event_id": "RW-X1",
        "subject_id": OTHER_SUBJECT,
        "subject_name": "张伟",
        "type": "court.defaulter",
        "decided_on": "2026-03-04",
    }
    with server.client("agency_railway") as client:
        summary = client.post("/records", json=[railway_row]).json()
    assert summary["rejected"] == 1
    assert "source" in {e["field"] for e in summary["rejects"][0]["errors"]}
    with server.client("operator") as client:
        events = client.get(f"/subjects/{OTHER_SUBJECT}").json()["records"]
    assert not {"X1", "X2", "RW-X1"} & {r["record_id"] for r in events}


def test_a_follow_up_of_another_agency_is_rejected(server: Server) -> None:
    perform = {"event_id": "RW-P1", "action": "perform", "record_id": "C-2024-002", "decided_on": "2026-03-05"}
    with server.client("agency_railway") as client:
        summary = client.post("/records", json=[perform]).json()
    assert summary["rejected"] == 1


# -- errors and limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/api/v1/nowhere", None, 404, "not_found"),
        ("DELETE", "/api/v1/health", None, 405, "method_not_allowed"),
        ("POST", "/api/v1/records", {"not": "a list"}, 422, "invalid_request"),
        ("POST", "/api/v1/records", [], 422, "invalid_request"),
        ("POST", "/api/v1/check", {"items": []}, 422, "invalid_request"),
        ("POST", "/api/v1/check", {"items": [{"subject_id": SUBJECT}]}, 422, "invalid_request"),
        ("GET", f"/api/v1/check/{SUBJECT}/flight.economy?as_of=yesterday", None, 422, "invalid_request"),
        ("GET", f"/api/v1/check/{SUBJECT}/flight.economy?as_of=0", None, 422, "invalid_request"),
        (
            "POST",
            "/api/v1/check",
            {"items": [{"subject_id": SUBJECT, "action": "flight.economy"}], "as_of": 0},
            422,
            "invalid_request",
        ),
        ("GET", "/api/v1/check/1%2F2/flight.economy", None, 404, "not_found"),
    ],
)
def test_every_error_has_the_envelope(
    server: Server, method: str, path: str, body: Any, status: int, code: str
) -> None:
    role = "agency" if path.endswith("records") else "relying_party"
    with server.client(role) as client:
        response = client.request(method, server.url + path, json=body)
    assert_envelope(response, status, code)


@pytest.mark.parametrize("content", [b"[{", b"[\xff]"], ids=["not JSON", "not UTF-8"])
def test_a_body_that_is_not_json_gets_the_envelope(server: Server, content: bytes) -> None:
    with server.client("agency") as client:
        response = client.post("/records", content=content, headers={"content-type": "application/json"})
    assert_envelope(response, 422, "invalid_request")


def test_a_method_not_allowed_names_the_allowed_ones(server: Server) -> None:
    response = httpx.delete(server.url + "/api/v1/health")
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


def test_openapi_documents_every_endpoint_with_examples(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/catalog",
        "/api/v1/check/{subject_id}/{action}",
        "/api/v1/check",
        "/api/v1/subjects/{subject_id}",
        "/api/v1/records",
        "/api/v1/lists/{list_code}",
        "/api/v1/screenings",
        "/api/v1/screenings/{job_id}",
        "/api/v1/screenings/{job_id}/result",
        "/api/v1/metrics",
    } <= paths
    schemas = spec["components"]["schemas"]
    assert "ErrorEnvelope" in schemas
    for name in (
        "CheckAnswer",
        "CheckBatch",
        "SubjectFile",
        "Submission",
        "Ready",
        "RecordRow",
        "PublicList",
        "ScreeningJob",
    ):
        props = schemas[name]["properties"]
        with_examples = [p for p, s in props.items() if "examples" in s]
        assert with_examples or "examples" in schemas[name], name
    assert httpx.get(server.url + "/docs").status_code == 200


def test_ready_reports_versions_and_freshness(server: Server) -> None:
    ready = httpx.get(server.url + "/api/v1/ready").json()
    assert ready["status"] == "ready"
    assert ready["catalog_version"].startswith("sha256:")
    assert ready["today"] == ENV["SOCIALCREDIT_TODAY"]
    assert ready["derived_as_of"] == ENV["SOCIALCREDIT_TODAY"]
    assert ready["stale"] is False, ready["stale_reasons"]


def test_catalog_is_public(server: Server) -> None:
    body = httpx.get(server.url + "/api/v1/catalog").json()
    assert "flight.economy" in body["catalog"]["actions"]
    assert body["version"].startswith("sha256:")


def test_body_limit_refuses_large_bodies_declared_or_streamed(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("limits")
    db, keys = sample_db(folder)
    small = start_server(db, folder / "server.log", {"SOCIALCREDIT_MAX_BODY_BYTES": "2048"})
    small.keys = keys
    try:
        rows = [_court_row(f"L{i}") for i in range(50)]
        with small.client("agency") as client:
            declared = client.post("/records", json=rows)
            assert_envelope(declared, 413, "body_too_large")

            def chunks() -> Iterator[bytes]:
                yield b"["
                for i in range(200):
                    yield (b"," if i else b"") + b'{"event_id": "%d"}' % i
                yield b"]"

            streamed = client.post("/records", content=chunks(), headers={"content-type": "application/json"})
            assert_envelope(streamed, 413, "body_too_large")
            assert client.post("/records", json=rows[:1]).status_code == 200
    finally:
        small.stop()
    assert query(db, "SELECT count(*) FROM events WHERE event_id LIKE 'L%'") == [(1,)]

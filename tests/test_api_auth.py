"""The authorization matrix of the HTTP service, over a real socket against a real server:
every role x every endpoint -> allowed (2xx), 401 or 403, one test per cell."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from socialcredit.sample import sample_subject

from server import ROLES, Server, assert_envelope, create_key, sample_db, serving

SUBJECT = sample_subject()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("auth")
    db, keys = sample_db(folder)
    revoked = create_key(db, "--role", "operator", "--name", "old ops key")
    from conftest import run_cli

    assert run_cli("keys", "revoke", revoked["id"], "--db", db).code == 0
    keys["revoked"] = revoked["key"]
    keys["forged"] = "sck_000000000000_" + "x" * 43
    for running in serving(db, keys, folder / "server.log"):
        with running.client("relying_party") as client:
            job = client.post("/screenings", files=_upload(), data={"action": "flight.economy"}).json()
            JOB["id"] = job["job_id"]
            for _ in range(600):  # waiting for the job, not a timed assertion
                if client.get(f"/screenings/{JOB['id']}").json()["status"] == "done":
                    break
                time.sleep(0.1)
        yield running


JOB: dict[str, str] = {}


def _upload() -> dict[str, tuple[str, bytes]]:
    return {"file": ("codes.csv", f"subject_id\n{SUBJECT}\n110105199001010352\n".encode())}


def _row(n: int) -> dict[str, object]:
    return {
        "event_id": f"AUTH-{n}",
        "subject_id": "110105199001010352",
        "subject_name": "张伟",
        "type": "court.defaulter",
        "decided_on": "2026-03-04",
        "document_no": f"(2026)京0105执{n}号之一",
        "attrs": {"ground": 4, "case_no": f"(2026)京0105执{n}号"},
    }


Call = Callable[[httpx.Client], httpx.Response]
ENDPOINTS: dict[str, Call] = {
    "GET /health": lambda c: c.get("/health"),
    "GET /ready": lambda c: c.get("/ready"),
    "GET /catalog": lambda c: c.get("/catalog"),
    "GET /check/{id}/{action}": lambda c: c.get(f"/check/{SUBJECT}/flight.economy"),
    "POST /check": lambda c: c.post("/check", json={"items": [{"subject_id": SUBJECT, "action": "flight.economy"}]}),
    "GET /subjects/{id}": lambda c: c.get(f"/subjects/{SUBJECT}"),
    "POST /records": lambda c: c.post("/records", json=[_row(1)]),
    "GET /lists/{list}": lambda c: c.get("/lists/judgment_defaulters"),
    "GET /metrics": lambda c: c.get("/metrics"),
    "POST /screenings": lambda c: c.post("/screenings", files=_upload(), data={"action": "flight.economy"}),
    "GET /screenings/{id}": lambda c: c.get(f"/screenings/{JOB['id']}"),
    "GET /screenings/{id}/result": lambda c: c.get(f"/screenings/{JOB['id']}/result"),
}

OK, UNAUTH, FORBID = 200, 401, 403
MATRIX: dict[str, dict[str, int]] = {
    #                          anonymous operator agency relying_party subject
    "GET /health": dict(zip(ROLES, (OK, OK, OK, OK, OK), strict=True)),
    "GET /ready": dict(zip(ROLES, (OK, OK, OK, OK, OK), strict=True)),
    "GET /catalog": dict(zip(ROLES, (OK, OK, OK, OK, OK), strict=True)),
    "GET /check/{id}/{action}": dict(zip(ROLES, (UNAUTH, OK, FORBID, OK, FORBID), strict=True)),
    "POST /check": dict(zip(ROLES, (UNAUTH, FORBID, FORBID, OK, FORBID), strict=True)),
    "GET /subjects/{id}": dict(zip(ROLES, (UNAUTH, OK, FORBID, FORBID, OK), strict=True)),
    "POST /records": dict(zip(ROLES, (UNAUTH, FORBID, OK, FORBID, FORBID), strict=True)),
    "GET /lists/{list}": dict(zip(ROLES, (OK, OK, OK, OK, OK), strict=True)),
    "GET /metrics": dict(zip(ROLES, (OK, OK, OK, OK, OK), strict=True)),
    "POST /screenings": dict(zip(ROLES, (UNAUTH, OK, FORBID, OK, FORBID), strict=True)),
    "GET /screenings/{id}": dict(zip(ROLES, (UNAUTH, OK, FORBID, OK, FORBID), strict=True)),
    "GET /screenings/{id}/result": dict(zip(ROLES, (UNAUTH, OK, FORBID, OK, FORBID), strict=True)),
}
CELLS = [(endpoint, role, expected) for endpoint, row in MATRIX.items() for role, expected in row.items()]


@pytest.mark.parametrize(("endpoint", "role", "expected"), CELLS, ids=[f"{e} as {r}" for e, r, _ in CELLS])
def test_authorization_matrix(server: Server, endpoint: str, role: str, expected: int) -> None:
    with server.client(role) as client:
        response = ENDPOINTS[endpoint](client)
    if expected == OK:
        assert response.status_code in (200, 202), response.text
        if response.headers["content-type"].startswith("application/json"):
            assert set(response.json()) != {"error"}
    elif expected == UNAUTH:
        error = assert_envelope(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in error["message"]
    else:
        error = assert_envelope(response, 403, "forbidden")
        assert error["details"]["role"] == role


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("key", ["revoked", "forged"])
def test_a_revoked_or_unknown_key_is_refused_everywhere(server: Server, endpoint: str, key: str) -> None:
    with server.client(key) as client:
        assert_envelope(ENDPOINTS[endpoint](client), 401, "invalid_key")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "sck_only", "Bearer a b"])
def test_a_malformed_authorization_header_is_refused(server: Server, header: str) -> None:
    response = httpx.get(server.url + "/api/v1/health", headers={"Authorization": header})
    assert_envelope(response, 401, "invalid_key")


def test_keys_are_stored_hashed(server: Server, tmp_path: Path) -> None:
    key = server.keys["relying_party"]
    assert server.db.read_bytes().find(key.encode()) == -1

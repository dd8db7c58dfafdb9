"""Property-based tests of the HTTP service against its own OpenAPI document.

Schemathesis reads ``/openapi.json`` from a real ``socialcredit serve`` and generates requests
for every operation, valid and invalid ones (the documented examples, boundary and
wrong-typed values, odd unicode, broken JSON bodies, undeclared methods, random data). Each
request goes over a real socket once with the key of every role. No answer may be a 5xx; every
answer must have a documented status code, content type, headers and body; a request the
schema rules out must be refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from server import Server, sample_db, serving

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

# anonymous, a key of each role, and a key the server does not know (401 on every endpoint)
ROLES = ("anonymous", "operator", "agency", "relying_party", "subject", "unknown_key")
UNKNOWN_KEY = "sck_000000000000_not-a-key-of-this-server"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
]
# Not among them: `positive_data_acceptance` (a request valid by the schema gets a 2xx). The
# schema cannot tell which strings are valid identity codes (check characters) or catalogued
# actions (the active catalog is data), and most roles may not use most endpoints: 422
# `invalid_subject_id` or `unknown_action` and 401/403 are the right answers to requests the
# schema admits.

CONFIG: dict[str, Any] = {
    "seed": 5,  # with `deterministic`: the same requests on every run
    "generation": {"mode": "all", "max-examples": 25, "deterministic": True, "database": "none"},
    "suppress-health-check": ["too_slow"],  # a shared machine is sometimes slow to generate
    "phases": {"stateful": {"enabled": False}},
    "operations": [
        {
            # Each submission is a whole ingest run (about a second), so fewer of them: random
            # ones, and the boundary cases of the coverage phase for invalid bodies only.
            "include-path": "/api/v1/records",
            "generation": {"max-examples": 10},
            "phases": {"coverage": {"generation": {"mode": "negative"}}},
        }
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over its own copy of the sample (``POST /records`` writes to it)."""
    folder = tmp_path_factory.mktemp("schema")
    db, keys = sample_db(folder)
    yield from serving(db, {**keys, "unknown_key": UNKNOWN_KEY}, folder / "server.log")


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def api_schema(server: Server) -> OpenApiSchema:
    """The schema as the running server publishes it."""
    config = schemathesis.Config.from_dict({**CONFIG, "base-url": server.url})
    return schemathesis.openapi.from_url(server.url + "/openapi.json", config=config)


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32 reads and renames ``request.node._nodeid``, which pytest 9.2 no longer
    has: give the node one (only the names of the per-operation reports use it)."""
    vars(request.node).setdefault("_nodeid", request.node.nodeid)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_answer_conforms_to_the_schema(case: OpenApiCase, server: Server, http: requests.Session) -> None:
    for role in ROLES:
        headers = {} if role == "anonymous" else {"Authorization": f"Bearer {server.keys[role]}"}
        try:
            case.call_and_validate(session=http, headers=headers, checks=CHECKS, timeout=60)
        except BaseException as exc:
            exc.add_note(f"role: {role}")
            raise

"""The fast path of ``GET /check/{subject_id}/{action}``, as plain ASGI middleware.

Relying parties ask this one question far more often than anything else, and most of its cost
in the full application is the framework's: dependency resolution, validation, the hop to a
worker thread. This middleware answers the common case on the event loop instead: a known key
allowed to ask, a catalogued action within its purposes, a valid code, no query parameters, and
today's decision index able to answer without reading the store. The answer is the one the
endpoint gives (``Platform.answer_at_once`` is ``Platform.check`` without the store), and it is
sent only once the decision log has committed it.

Everything else — every error, every question that needs the store — goes on to the application
unchanged, so errors, documentation and validation have one implementation."""

from __future__ import annotations

import logging
import time

import orjson
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from socialcredit.api.auth import Principal, bearer_key
from socialcredit.api.errors import ApiError
from socialcredit.api.keys import hash_key
from socialcredit.api.models import ACTION_MAX, SUBJECT_ID_MAX
from socialcredit.api.platform import Platform
from socialcredit.api.routes.check import ONE_ROLES, purpose_for

log = logging.getLogger(__name__)
_HEADERS = [(b"content-type", b"application/json")]


class FastChecks:
    """Answers plain ``GET {prefix}/check/{subject_id}/{action}`` requests it can answer at once;
    passes every other request on. Its answers are counted in the request metrics as the
    endpoint's (``route``) would be."""

    def __init__(self, app: ASGIApp, platform: Platform, prefix: str, route: APIRoute) -> None:
        self.app = app
        self.platform = platform
        self.prefix = prefix + "/check/"
        # what RequestMetrics records for the endpoint's 200 answers
        self.requests = platform.metrics.requests.labels("GET", route.path_format, "200")
        self.latency = platform.metrics.latency.labels(route.path_format)
        self.fast = platform.metrics.fast_checks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and scope["path"].startswith(self.prefix)
        ):
            start = time.perf_counter()
            try:
                body = await self._answer(scope)
            except Exception:  # the application answers instead, and reports what goes wrong
                log.exception("the fast path of checks failed; the application answers")
                body = None
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                self.requests.inc()
                self.fast.inc()
                self.latency.observe(time.perf_counter() - start)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        """The body of the answer, logged; None when the application must answer."""
        subject, slash, action = scope["path"][len(self.prefix) :].partition("/")
        if not slash or not subject or "/" in action or len(subject) > SUBJECT_ID_MAX or len(action) > ACTION_MAX:
            return None
        key = _bearer(scope)
        if key is None:
            return None
        found = self.platform.keys.get(hash_key(key))
        if found is None or found.role not in ONE_ROLES or action not in self.platform.decider.catalog.actions:
            return None
        who = Principal(found)
        try:
            purpose = purpose_for(who, action, None)
        except ApiError:
            return None
        ready = self.platform.answer_at_once(subject, action, who.name, purpose)
        if ready is None:
            return None
        answer, rows = ready
        await self.platform.log.commit(rows)  # not logged, not sent: on an error the application answers
        self.platform.count([answer])
        return orjson.dumps(answer)


def _bearer(scope: Scope) -> str | None:
    """The key of the request's ``Authorization: Bearer KEY`` header (None without one)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_key(value.decode("latin-1"))
    return None

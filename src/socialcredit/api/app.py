"""The FastAPI application of ``socialcredit serve`` (OpenAPI at /docs, endpoints under /api/v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from socialcredit import __version__
from socialcredit.api.errors import ErrorEnvelope, install_error_handlers
from socialcredit.api.fastcheck import FastChecks
from socialcredit.api.limits import BodyLimit
from socialcredit.api.metrics import RequestMetrics
from socialcredit.api.models import RecordRow
from socialcredit.api.platform import Platform
from socialcredit.api.routes import check, lists, records, screenings, status, subjects
from socialcredit.store.duckdb_store import DuckDBStore

PREFIX = "/api/v1"

DESCRIPTION = """An open, auditable public credit information platform.

Send `Authorization: Bearer KEY` (keys: `socialcredit keys create`). Roles: **operator**,
**agency** (submits events of its own source), **relying_party** (checks actions matching its
registered purposes), **subject** (its own file); health, readiness and the catalog are public.
Every error has the body `{"error": {"code", "message", "details"}}`. See docs/api.md."""


class Service(FastAPI):
    """The FastAPI application with the fast path of checks (``fastcheck``) in front of its
    middleware stack: the common check is answered before the framework's layers."""

    front: Callable[[ASGIApp], ASGIApp] | None = None
    """Wraps the whole middleware stack (``create_app`` sets the fast path of checks)."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return self.front(stack) if self.front is not None else stack


def create_app(store: DuckDBStore) -> FastAPI:
    """The application over an opened, current store (closed when the application stops)."""
    serving = Platform(store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        serving.close()

    app = Service(
        title="socialcredit",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.platform = serving
    app.front = lambda stack: FastChecks(stack, serving, PREFIX, check.one_route())
    install_error_handlers(app)
    for router in (status.router, check.router, subjects.router, records.router, lists.router, screenings.router):
        app.include_router(router, prefix=PREFIX)
    # the last added is the outermost: body limits, then request metrics (the fast path of
    # checks stands in front of all of them: see Service)
    app.add_middleware(RequestMetrics, metrics=serving.metrics)
    app.add_middleware(BodyLimit, limit=store.settings.max_body_bytes, upload_limit=store.settings.max_upload_bytes)
    _document_models(app)
    return app


def _document_models(app: FastAPI) -> None:
    """Add the models referenced by hand — the rows of POST /records, the error envelope — to
    the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in (RecordRow, ErrorEnvelope):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, nested in found.pop("$defs", {}).items():
                    schemas.setdefault(name, nested)
                schemas.setdefault(model.__name__, found)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

"""Public status endpoints: health, readiness (versions and staleness) and the catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from socialcredit import __version__
from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import CatalogOut, Health, Ready
from socialcredit.api.platform import Platform

router = APIRouter(tags=["status"])
Public = Annotated[Principal, Depends(allow("anonymous"))]
Serving = Annotated[Platform, Depends(platform)]


@router.get("/health", response_model=Health, responses=error_responses("invalid_key"))
def health(_: Public) -> dict[str, Any]:
    """The process is up (does not touch the database)."""
    return {"status": "ok", "version": __version__}


@router.get("/ready", response_model=Ready, responses=error_responses("invalid_key", "not_ready"))
def ready(_: Public, serving: Serving) -> dict[str, Any]:
    """Catalog version, data version, last derive and staleness: a relying party may refuse to
    act on stale answers. ``stale`` is true when the stored derive is not for today or events
    or the catalog changed since; checks are then answered by deriving on the fly."""
    try:
        return serving.ready()
    except Exception as exc:
        raise ApiError("not_ready", f"the store does not answer: {exc}") from None


@router.get("/catalog", response_model=CatalogOut, responses=error_responses("invalid_key"))
def catalog(_: Public, serving: Serving) -> dict[str, Any]:
    """The active catalog: sources, record types, lists, measures, memoranda, actions, legal bases."""
    return serving.catalog()


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"example": 'socialcredit_decisions_total{answer="restricted"} 3.0\n'}},
        },
        **error_responses("invalid_key"),
    },
)
def metrics(_: Public, serving: Serving) -> PlainTextResponse:
    """Counters and gauges for monitoring: requests by route and status, latency histograms,
    decisions and screened rows by answer, submitted rows by outcome, screening jobs, the
    published event, the age of the last derive and staleness. No identity code appears."""
    return PlainTextResponse(generate_latest(serving.metrics.registry), media_type=CONTENT_TYPE_LATEST)

"""Checks: may subject X do action A? One at a time (GET) or up to the batch limit (POST).

Relying parties may ask only about actions matching their registered purposes; every answer
is logged (party = the key's name, purpose = the matching pattern) before it is sent."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from fastapi.routing import APIRoute

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import (
    ACTION_MAX,
    SUBJECT_ID_MAX,
    CheckAnswer,
    CheckBatch,
    CheckBatchAnswer,
    IsoDate,
)
from socialcredit.api.platform import Platform
from socialcredit.catalog.actions import matches, nearest
from socialcredit.decide import DecisionError

router = APIRouter(tags=["checks"])
Serving = Annotated[Platform, Depends(platform)]
_ERRORS = (
    "unauthorized",
    "invalid_key",
    "forbidden",
    "purpose_not_allowed",
    "unknown_action",
    "invalid_request",
)


def purpose_for(who: Principal, action: str, asked: str | None) -> str | None:
    """The purpose logged with a decision: a relying party's matching pattern (403 if none)."""
    if who.key is None or who.key.role != "relying_party":
        return asked
    for pattern in who.key.purposes:
        if matches(pattern, action):
            return pattern
    raise ApiError(
        "purpose_not_allowed",
        f"this key may check only actions matching: {', '.join(who.key.purposes)}",
        {"action": action, "purposes": who.key.purposes},
    )


def known_action(serving: Platform, action: str) -> None:
    if action not in serving.decider.catalog.actions:
        near = nearest(action, serving.decider.catalog.actions)
        raise ApiError("unknown_action", f"unknown action {action!r}", {"action": action, "nearest": near})


ONE = "/check/{subject_id}/{action}"
"""The template of the one-check endpoint (its common case is answered by ``fastcheck``)."""
ONE_ROLES = ("relying_party", "operator")
"""The roles the one-check endpoint admits."""


@router.get(
    ONE,
    response_model=CheckAnswer,
    response_model_exclude_unset=True,
    responses=error_responses(*_ERRORS, "invalid_subject_id", "not_found"),
)
def check_one(
    who: Annotated[Principal, Depends(allow(*ONE_ROLES))],
    serving: Serving,
    subject_id: Annotated[
        str, Path(description="Identity code", examples=["371082199003120244"], max_length=SUBJECT_ID_MAX)
    ],
    action: Annotated[
        str, Path(description="Catalogued dotted action", examples=["flight.economy"], max_length=ACTION_MAX)
    ],
    as_of: Annotated[IsoDate | None, Query(description="Date of the action (default: today)")] = None,
    purpose: Annotated[
        str | None,
        Query(
            max_length=ACTION_MAX, description="Why the question is asked (operators; for a relying party its purpose)"
        ),
    ] = None,
) -> Response:
    """The ``check --json`` answer, logged before it is sent."""
    known_action(serving, action)
    logged = purpose_for(who, action, purpose)
    result = serving.check([(subject_id, action, logged)], who.name, as_of)[0]
    if isinstance(result, DecisionError):
        raise ApiError(result.code, result.message, {"subject_id": subject_id})
    return json_response(result)


def one_route() -> APIRoute:
    """The route of the one-check endpoint."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.path == ONE)


def json_response(body: Any) -> Response:
    """A JSON answer serialised directly: the answers are built to the documented models
    (checked in the tests), so they are not validated again on the way out."""
    return Response(orjson.dumps(body), media_type="application/json")


@router.post(
    "/check",
    response_model=CheckBatchAnswer,
    response_model_exclude_unset=True,
    responses=error_responses(*_ERRORS, "batch_too_large", "body_too_large"),
)
def check_many(
    who: Annotated[Principal, Depends(allow("relying_party"))],
    serving: Serving,
    batch: CheckBatch,
) -> Response:
    """Many checks at once, each with its own decision id; all are logged in one write before
    the answer is sent. An unknown action or one outside the key's purposes refuses the whole
    batch; an invalid identity code gives an item error (no decision) in its place."""
    limit = serving.settings.max_batch_items
    if len(batch.items) > limit:
        raise ApiError(
            "batch_too_large",
            f"{len(batch.items)} items; at most {limit} per request (setting SOCIALCREDIT_MAX_BATCH_ITEMS)",
            {"items": len(batch.items), "limit": limit},
        )
    actions = sorted({i.action for i in batch.items})
    for action in actions:
        known_action(serving, action)
    purposes = {a: purpose_for(who, a, None) for a in actions}
    questions = [(i.subject_id, i.action, purposes[i.action]) for i in batch.items]
    results: list[dict[str, Any]] = []
    decisions = 0
    answers = serving.check(questions, who.name, batch.as_of)
    for index, (item, result) in enumerate(zip(batch.items, answers, strict=True)):
        if isinstance(result, DecisionError):
            error = {"code": result.code, "message": result.message, "details": None}
            results.append({"index": index, "subject_id": item.subject_id, "action": item.action, "error": error})
        else:
            decisions += 1
            results.append(result)
    return json_response({"count": len(results), "decisions": decisions, "results": results})

"""One error envelope for every error of the HTTP service:
``{"error": {"code": ..., "message": ..., "details": ...}}``.

Every code is listed in ``ERROR_CODES`` with its HTTP status, and documented in docs/api.md."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("socialcredit.api")

ERROR_CODES: dict[str, int] = {
    "unauthorized": 401,
    "invalid_key": 401,
    "forbidden": 403,
    "source_not_allowed": 403,
    "purpose_not_allowed": 403,
    "subject_not_allowed": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_finished": 409,
    "screening_failed": 409,
    "body_too_large": 413,
    "batch_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_request": 422,
    "invalid_subject_id": 422,
    "invalid_file": 422,
    "unknown_action": 422,
    "submission_failed": 422,
    "internal_error": 500,
    "not_ready": 503,
}

_BY_STATUS = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a message for people, and details for programs."""

    code: str = Field(examples=["purpose_not_allowed"], description="Stable error code (docs/api.md lists them)")
    message: str = Field(examples=["this key may check only actions matching: flight.*"])
    details: Any = Field(default=None, examples=[{"action": "rail.g.second", "purposes": ["flight.*"]}])


class ErrorEnvelope(BaseModel):
    """The body of every error response."""

    error: ErrorBody


ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


class ApiError(Exception):
    """An error answered with the envelope (status from ``ERROR_CODES``)."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        self.code = code
        self.status = ERROR_CODES[code]
        self.message = message
        self.details = details
        super().__init__(message)


def envelope(
    code: str, message: str, details: Any = None, status: int | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The error response for a code (with ``headers``, e.g. the ``Allow`` of a 405)."""
    headers = dict(headers or {})
    if ERROR_CODES.get(code) == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status or ERROR_CODES[code], headers=headers or None)


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for an endpoint that may answer with these error codes. Errors are
    JSON whatever the endpoint's own media type (CSV, Parquet, Prometheus text), so the content
    is spelled out rather than left to the endpoint's response class."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        status = ERROR_CODES[code]
        entry = out.setdefault(status, {"description": "", "content": {"application/json": {"schema": ENVELOPE_REF}}})
        entry["description"] = (entry["description"] + ", " if entry["description"] else "") + f"`{code}`"
    return out


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return envelope(exc.code, exc.message, exc.details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's answer to a JSON body it cannot decode (not UTF-8)
        details = [{"location": ["body"], "message": str(exc.detail), "type": "json_invalid"}]
        return envelope("invalid_request", "the request is not valid (body: not JSON in UTF-8)", details)
    code = _BY_STATUS.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if code == "not_found" and message == "Not Found":
        message = "no such endpoint (the API is under /api/v1; see /docs)"
    return envelope(code, message, None, status=exc.status_code, headers=exc.headers)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """The ``details`` of an ``invalid_request``: location, message and type of (up to 100)
    validation errors."""
    return [
        {"location": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", "")), "type": e.get("type")}
        for e in list(errors)[:100]
    ]


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    where = ", ".join(".".join(d["location"]) for d in details[:3])
    return envelope("invalid_request", f"the request is not valid ({where})", details)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return envelope("internal_error", "the server failed to answer; the error is in its log")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

"""Agency submissions: a JSON array of events, or an uploaded record file, checked and written
as one batch."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses, validation_details
from socialcredit.api.models import RecordRow, Submission
from socialcredit.api.platform import Platform

router = APIRouter(tags=["records"])
_ROWS = TypeAdapter(list[RecordRow])
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/RecordRow"}},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A record file: *.csv, *.jsonl (optionally .gz) or *.parquet",
                        }
                    },
                }
            },
        },
    }
}


def _invalid(message: str, details: Any = None) -> ApiError:
    return ApiError("invalid_request", message, details)


def _rows(raw: bytes) -> list[dict[str, Any]]:
    """The submitted JSON array as rows (invalid_request when it is not one)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"the body is not JSON: {exc}") from None
    try:
        rows = _ROWS.validate_python(data)
    except ValidationError as exc:
        raise _invalid("the body must be a JSON array of event objects", validation_details(exc.errors())) from None
    if not rows:
        raise _invalid("the array is empty: submit at least one event")
    return [r.model_dump(exclude_unset=True) for r in rows]


@router.post(
    "/records",
    response_model=Submission,
    openapi_extra=_BODY,
    responses=error_responses(
        "unauthorized",
        "invalid_key",
        "forbidden",
        "source_not_allowed",
        "invalid_request",
        "unsupported_media_type",
        "submission_failed",
        "body_too_large",
    ),
)
async def submit(
    request: Request,
    who: Annotated[Principal, Depends(allow("agency"))],
    serving: Annotated[Platform, Depends(platform)],
) -> dict[str, Any]:
    """Submit events of the key's own source, as a JSON array (a row without ``source`` gets
    the key's; a row naming another source refuses the whole array) or as an uploaded record
    file in the `file` part of a multipart form (rows of another source are rejected row by
    row). Either way the rows are checked exactly as ``socialcredit ingest`` checks a file: the
    valid rows are written in one transaction, every invalid row comes back inline with its
    reasons, and accepted + duplicates + rejected = rows."""
    assert who.key is not None
    assert who.key.source is not None
    source = who.key.source
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise _invalid("a multipart submission carries the record file in a part named `file`")
            summary = await run_in_threadpool(serving.submit_file, upload.filename or "upload", upload.file, source)
    elif kind in ("application/json", ""):
        data = _rows(await request.body())
        for r in data:
            if r.get("source") in (None, ""):
                r["source"] = source
        foreign = [i for i, r in enumerate(data) if r["source"] != source]
        if foreign:
            raise ApiError(
                "source_not_allowed",
                f"this key submits only events of source {source!r}; {len(foreign)} row(s) name another source; "
                "nothing was written",
                {"source": source, "rows": foreign[:100]},
            )
        summary = await run_in_threadpool(serving.submit, data, source)
    else:
        raise ApiError(
            "unsupported_media_type",
            f"send application/json (an array of events) or multipart/form-data (a record file), not {kind}",
            {"content_type": kind},
        )
    failed = [f for f in summary["files"] if f["status"] != "ok"]
    if failed:
        problem = failed[0]["error"]
        raise ApiError("submission_failed", f"the submission was refused as a whole: {problem['message']}", problem)
    return summary

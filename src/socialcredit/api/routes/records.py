"""Agency submissions: a JSON array of events, checked and written as one batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import RecordRow, Submission
from socialcredit.api.platform import Platform

router = APIRouter(tags=["records"])


@router.post(
    "/records",
    response_model=Submission,
    responses=error_responses(
        "unauthorized",
        "invalid_key",
        "forbidden",
        "source_not_allowed",
        "invalid_request",
        "submission_failed",
        "body_too_large",
    ),
)
def submit(
    who: Annotated[Principal, Depends(allow("agency"))],
    serving: Annotated[Platform, Depends(platform)],
    rows: Annotated[list[RecordRow], Body(min_length=1)],
) -> dict[str, Any]:
    """Submit events of the key's own source (a row without ``source`` gets it). They are
    checked exactly as ``socialcredit ingest`` checks a JSON Lines file: the valid rows are
    written in one transaction, every invalid row comes back inline with its reasons, and
    accepted + duplicates + rejected = rows. A row of another source refuses the whole batch."""
    assert who.key is not None
    assert who.key.source is not None
    source = who.key.source
    data = [r.model_dump(exclude_unset=True) for r in rows]
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
    summary = serving.submit(data, source)
    failed = [f for f in summary["files"] if f["status"] != "ok"]
    if failed:
        problem = failed[0]["error"]
        raise ApiError("submission_failed", f"the submission was refused as a whole: {problem['message']}", problem)
    return summary

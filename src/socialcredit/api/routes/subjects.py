"""A subject's own file: what the platform holds and who looked them up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import SUBJECT_ID_MAX, IsoDate, SubjectFile
from socialcredit.api.platform import Platform
from socialcredit.decide import DecisionError
from socialcredit.decide.service import canonical

router = APIRouter(tags=["subjects"])


@router.get(
    "/subjects/{subject_id}",
    response_model=SubjectFile,
    response_model_exclude_unset=True,
    responses=error_responses(
        "unauthorized",
        "invalid_key",
        "forbidden",
        "subject_not_allowed",
        "not_found",
        "invalid_subject_id",
        "invalid_request",
    ),
)
def subject_file(
    who: Annotated[Principal, Depends(allow("subject", "operator"))],
    serving: Annotated[Platform, Depends(platform)],
    subject_id: Annotated[
        str, Path(description="Identity code", examples=["371082199003120244"], max_length=SUBJECT_ID_MAX)
    ],
    as_of: Annotated[IsoDate | None, Query(description="Date to answer for (default: today)")] = None,
) -> dict[str, Any]:
    """The ``show --json`` file plus ``lookups``: every logged decision about the subject (when,
    which party, which action, the answer). A subject key sees only its own file."""
    try:
        code, _ = canonical(subject_id)
    except DecisionError as exc:
        raise ApiError(exc.code, exc.message, {"subject_id": subject_id}) from None
    if who.key is not None and who.key.role == "subject" and who.key.subject != code:
        raise ApiError("subject_not_allowed", "a subject key may read only its own file", {"subject_id": code})
    return serving.subject_file(code, as_of)

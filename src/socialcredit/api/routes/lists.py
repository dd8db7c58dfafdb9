"""Public lists: published entries, masked, paginated and searchable (no key needed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from socialcredit.api.auth import Principal, allow, platform
from socialcredit.api.errors import ApiError, error_responses
from socialcredit.api.models import PublicList
from socialcredit.api.platform import Platform
from socialcredit.catalog.actions import nearest

router = APIRouter(tags=["lists"])


@router.get(
    "/lists/{list_code}",
    response_model=PublicList,
    responses=error_responses("invalid_key", "not_found", "invalid_request", "not_ready"),
)
def public_list(
    _: Annotated[Principal, Depends(allow("anonymous"))],
    serving: Annotated[Platform, Depends(platform)],
    list_code: Annotated[
        str, Path(description="A published list of the catalog", examples=["judgment_defaulters"], max_length=100)
    ],
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Search: part of a name, a full identity number, or an organisation's code or a "
            "prefix of it (4 characters or more)",
        ),
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=1_000_000, description="Entries per page (at most SOCIALCREDIT_MAX_PAGE_SIZE)")
    ] = 50,
) -> dict[str, Any]:
    """The published entries of a list on the date of the last derive, newest listing first.
    Persons' identity numbers are masked (birth date hidden); organisations' codes are public."""
    published = serving.published_lists()
    if list_code not in published:
        near = nearest(list_code, published)
        raise ApiError(
            "not_found",
            f"{list_code!r} is not a published list",
            {"list": list_code, "nearest": near, "published": sorted(published)},
        )
    limit = serving.settings.max_page_size
    if page_size > limit:
        raise ApiError(
            "invalid_request",
            f"page_size {page_size} is above the limit of {limit} (setting SOCIALCREDIT_MAX_PAGE_SIZE)",
            {"page_size": page_size, "limit": limit},
        )
    return serving.list_page(list_code, q, page, page_size)

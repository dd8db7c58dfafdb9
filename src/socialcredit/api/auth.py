"""Who is asking: the ``Authorization: Bearer KEY`` header resolved to a key (or anonymous),
and the role checks of each endpoint (401 without a valid key, 403 for a role not allowed)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from socialcredit.api.errors import ApiError
from socialcredit.api.keys import ApiKey, hash_key
from socialcredit.api.platform import Platform


@dataclass(frozen=True)
class Principal:
    """The caller: a key, or nobody (``anonymous``)."""

    key: ApiKey | None

    @property
    def role(self) -> str:
        """The key's role, or ``anonymous``."""
        return self.key.role if self.key is not None else "anonymous"

    @property
    def name(self) -> str:
        """The key's name (the party recorded with every decision)."""
        return self.key.name if self.key is not None else "anonymous"


async def platform(request: Request) -> Platform:
    """The platform the app serves."""
    found: Platform = request.app.state.platform
    return found


def bearer_key(header: str) -> str | None:
    """The key of an ``Authorization`` header of the form ``Bearer KEY`` (None otherwise)."""
    scheme, _, key = header.partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


async def principal(request: Request) -> Principal:
    """The caller of a request; a header with an unknown, revoked or malformed key is refused (401)."""
    header = request.headers.get("authorization")
    if header is None:
        return Principal(None)
    key = bearer_key(header)
    if key is None:
        raise ApiError("invalid_key", "the Authorization header must be `Bearer KEY`")
    serving: Platform = request.app.state.platform
    found = serving.keys.get(hash_key(key))
    if found is None:
        raise ApiError("invalid_key", "this API key is not known or has been revoked")
    return Principal(found)


def allow(*roles: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting only these roles (``anonymous`` admits everybody). The
    dependencies are coroutines: they do no blocking work, so they run on the event loop
    without a hop to the thread pool."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if "anonymous" in roles or who.role in roles:
            return who
        if who.key is None:
            raise ApiError("unauthorized", "this endpoint needs an API key: send `Authorization: Bearer KEY`")
        raise ApiError(
            "forbidden", f"{who.role} keys may not use this endpoint", {"role": who.role, "allowed": list(roles)}
        )

    return check

"""Scoped API keys: who may call the HTTP service, in which role, for what.

A key is ``sck_<id>_<secret>``; only the SHA-256 of the whole key is stored, so a lost key
cannot be shown again, only revoked and replaced. Roles: ``operator`` (everything),
``agency`` (submits events of its own ``source``), ``relying_party`` (checks actions matching
its registered ``purposes``, action patterns), ``subject`` (its own file, bound to one
identity code)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from socialcredit.catalog.actions import expand, nearest, pattern_syntax_error
from socialcredit.catalog.models import Catalog
from socialcredit.identity import codes as id_codes
from socialcredit.store.duckdb_store import DuckDBStore

Role = Literal["operator", "agency", "relying_party", "subject"]
ROLES: tuple[str, ...] = get_args(Role)
KEY_PREFIX = "sck_"


class KeySpecError(ValueError):
    """A key that cannot be created (or found) as asked; the message says why."""


class ApiKey(BaseModel):
    """One stored key, without its secret."""

    id: str = Field(examples=["3f9a1c0b7d2e"])
    role: Role = Field(examples=["relying_party"])
    name: str = Field(examples=["Shandong Airlines ticketing"])
    source: str | None = Field(default=None, examples=[None], description="The agency's source (agency keys)")
    purposes: list[str] = Field(
        default_factory=list, examples=[["flight.*"]], description="Action patterns (relying-party keys)"
    )
    subject: str | None = Field(default=None, examples=[None], description="Identity code (subject keys)")
    created_at: datetime = Field(examples=["2026-11-26T09:00:00+00:00"])
    revoked_at: datetime | None = Field(default=None, examples=[None])

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def hash_key(key: str) -> str:
    """What is stored for a key: the hex SHA-256 of the whole key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _canonical_subject(code: str) -> str:
    kinds = id_codes.kinds_of(code)
    if not kinds:
        raise KeySpecError(f"--subject {code!r} is not a valid identity code ({id_codes.invalid_reasons(code)})")
    return id_codes.compact_person(code) if "person" in kinds else id_codes.compact_org(code)


def _check_purposes(catalog: Catalog, purposes: list[str]) -> list[str]:
    if not purposes:
        raise KeySpecError("a relying_party key needs at least one --purpose (an action pattern such as 'flight.*')")
    out: list[str] = []
    for pattern in purposes:
        problem = pattern_syntax_error(pattern)
        if problem is not None:
            raise KeySpecError(f"--purpose {problem}")
        if not expand([pattern], catalog.actions):
            near = ", ".join(nearest(pattern.replace("*", ""), catalog.actions))
            raise KeySpecError(f"--purpose {pattern!r} matches no catalogued action (nearest: {near})")
        if pattern not in out:
            out.append(pattern)
    return out


def validate_spec(
    catalog: Catalog, role: str, source: str | None, purposes: list[str], subject: str | None
) -> tuple[str | None, list[str], str | None]:
    """(source, purposes, canonical subject) of a valid key specification; KeySpecError otherwise."""
    if role not in ROLES:
        raise KeySpecError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    given = {"--source": source is not None, "--purpose": bool(purposes), "--subject": subject is not None}
    allowed = {"operator": set(), "agency": {"--source"}, "relying_party": {"--purpose"}, "subject": {"--subject"}}
    extra = [opt for opt, present in given.items() if present and opt not in allowed[role]]
    if extra:
        raise KeySpecError(f"{role} keys take no {', '.join(extra)}")
    if role == "agency":
        if source is None:
            raise KeySpecError("an agency key needs --source (a source of the catalog, e.g. court)")
        if source not in catalog.sources:
            known = ", ".join(sorted(catalog.sources))
            raise KeySpecError(f"unknown source {source!r}: the catalog's sources are {known}")
        return source, [], None
    if role == "relying_party":
        return None, _check_purposes(catalog, purposes), None
    if role == "subject":
        if subject is None:
            raise KeySpecError("a subject key needs --subject (the subject's identity code)")
        return None, [], _canonical_subject(subject)
    return None, [], None


_COLUMNS = "id, role, name, source, purposes, subject, created_at, revoked_at"


def _from_row(row: tuple[Any, ...]) -> ApiKey:
    data = dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))
    data["purposes"] = json.loads(data["purposes"]) if data["purposes"] else []
    return ApiKey.model_validate(data)


def create_key(
    store: DuckDBStore,
    role: str,
    *,
    name: str | None = None,
    source: str | None = None,
    purposes: list[str] | None = None,
    subject: str | None = None,
) -> tuple[str, ApiKey]:
    """Create and store a key; returns (the key, shown only now, and its stored description)."""
    _, catalog = store.active_catalog()
    source, checked, subject = validate_spec(catalog, role, source, list(purposes or []), subject)
    if name is not None and not name.strip():
        raise KeySpecError("--name must not be empty")
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        id=key_id,
        role=role,
        name=(name or f"{role}-{key_id}").strip(),
        source=source,
        purposes=checked,
        subject=subject,
        created_at=datetime.now(UTC),
    )
    store.con.execute(
        f"INSERT INTO api_keys ({_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            record.id,
            record.role,
            record.name,
            record.source,
            json.dumps(record.purposes) if record.purposes else None,
            record.subject,
            record.created_at,
            hash_key(key),
        ],
    )
    return key, record


def list_keys(store: DuckDBStore) -> list[ApiKey]:
    """Every key, oldest first (revoked ones included)."""
    rows = store.con.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
    return [_from_row(r) for r in rows]


def revoke_key(store: DuckDBStore, key_id: str) -> ApiKey:
    """Revoke a key by its id (revoking twice keeps the first time); KeySpecError if unknown."""
    store.con.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [datetime.now(UTC), key_id]
    )
    rows = store.con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", [key_id]).fetchall()
    if not rows:
        raise KeySpecError(f"no key with id {key_id!r} (`socialcredit keys list` shows them)")
    return _from_row(rows[0])


def active_keys(store: DuckDBStore) -> dict[str, ApiKey]:
    """Hash -> key, for every key not revoked."""
    rows = store.con.execute(f"SELECT key_hash, {_COLUMNS} FROM api_keys WHERE revoked_at IS NULL").fetchall()
    return {str(r[0]): _from_row(r[1:]) for r in rows}

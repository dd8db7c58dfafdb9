"""What any store of socialcredit offers (DuckDB now; PostgreSQL implements the same)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from socialcredit.catalog.models import Catalog


class StoreError(Exception):
    """A store cannot be opened or used as asked (message says why and what to do)."""


class EventRow(BaseModel):
    """One stored event, as ``events SUBJECT`` shows it."""

    seq: int = Field(examples=[17])
    run_id: int = Field(examples=[3])
    source: str = Field(examples=["court"])
    event_id: str = Field(examples=["C-2024-0001"])
    action: str = Field(examples=["create"])
    record_id: str = Field(examples=["C-2024-0001"])
    subject_id: str = Field(examples=["11010519491231002X"])
    subject_kind: str = Field(examples=["person"])
    subject_name: str | None = Field(examples=["王芳"])
    type: str = Field(examples=["court.defaulter"])
    decided_on: date = Field(examples=["2024-03-04"])
    document_no: str | None = Field(examples=["(2024)京0105执1234号"])
    amount: float | None = Field(examples=[12000.0])
    quantity: float | None = Field(examples=[None])
    attrs: dict[str, Any] = Field(examples=[{"ground": 4, "case_no": "(2024)京0105执1234号"}])
    recorded_at: datetime = Field(examples=["2026-11-26T09:00:00+00:00"])
    catalog_version: str = Field(examples=["sha256:5098289d..."])
    file: str | None = Field(examples=["court.csv"])
    line: int | None = Field(examples=[2])


class Store(Protocol):
    """The operations the rest of socialcredit needs from a store."""

    def schema_version(self) -> int:
        """Applied schema version (0 for an empty database)."""
        ...

    def migrate(self) -> list[int]:
        """Apply missing migrations; returns the versions applied."""
        ...

    def store_catalog(self, catalog: Catalog, activate: bool = True) -> str:
        """Keep a catalog (content and hash) and make it the active one; returns its version."""
        ...

    def active_catalog(self) -> tuple[str, Catalog]:
        """The version and content of the active catalog."""
        ...

    def events_for_subject(self, subject_id: str) -> list[EventRow]:
        """Every event about one subject, in log order."""
        ...

    def counts(self) -> dict[str, int]:
        """Sizes of the log: events, subjects, runs."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...

"""What an ingest tells its caller: per-file and total counts, and file-level problems."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileProblem(Exception):
    """A problem with a whole file: nothing from it is written (exit status 2)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


class FileSummary(BaseModel):
    """Outcome for one input file (one batch, one transaction)."""

    file: str = Field(examples=["court.csv"])
    format: str | None = Field(default=None, examples=["csv"])
    status: str = Field(examples=["ok"], description="ok, or failed (a file-level problem)")
    run_id: int | None = Field(default=None, examples=[3])
    rows: int = Field(default=0, examples=[1000])
    accepted: int = Field(default=0, examples=[990])
    duplicates: int = Field(default=0, examples=[5])
    rejected: int = Field(default=0, examples=[5])
    flagged: int = Field(default=0, examples=[1], description="Subjects flagged for review")
    error: dict[str, str] | None = Field(
        default=None, examples=[{"code": "missing_columns", "message": "missing column: source"}]
    )
    errors_by_code: dict[str, int] = Field(default_factory=dict, examples=[{"invalid_checksum": 3}])


class IngestSummary(BaseModel):
    """The ``ingest --json`` contract: counts add up (accepted + duplicates + rejected = rows)."""

    rows: int = Field(examples=[1000])
    accepted: int = Field(examples=[990])
    duplicates: int = Field(examples=[5])
    rejected: int = Field(examples=[5])
    rejects: str | None = Field(examples=["./rejects/run-3.jsonl"], description="Rejects file (JSON Lines), if any")
    flagged: int = Field(default=0, examples=[1])
    catalog_version: str | None = Field(default=None, examples=["sha256:5098..."])
    files: list[FileSummary] = Field(default_factory=list)
    errors_by_code: dict[str, int] = Field(default_factory=dict, examples=[{"invalid_checksum": 3}])
    derived: dict[str, str] | None = Field(
        default=None,
        examples=[{"mode": "refresh", "as_of": "2026-11-26", "data_version": "1042@2026-11-26"}],
        description="The derived state refreshed for the touched subjects (null before the first derive)",
    )

    @property
    def failed_files(self) -> list[FileSummary]:
        """Files refused as a whole."""
        return [f for f in self.files if f.status != "ok"]

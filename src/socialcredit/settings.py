"""Every setting of socialcredit, read once from the environment (prefix ``SOCIALCREDIT_``).

Each field is documented in ``docs/settings.md``; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of one process. Command-line options override them where both exist."""

    model_config = SettingsConfigDict(env_prefix="SOCIALCREDIT_", extra="ignore", env_ignore_empty=True)

    db: Path = Field(
        default=Path("socialcredit.duckdb"),
        description="Path of the embedded DuckDB database file.",
        examples=["./socialcredit.duckdb"],
    )
    catalog_dir: Path | None = Field(
        default=None,
        description="Catalog directory used by `init` when none is given; empty means the packaged default catalog.",
        examples=["./my-catalog"],
    )
    memory_limit: str = Field(
        default="1GB",
        description="Memory the database engine may use before it spills to disk (DuckDB `memory_limit`).",
        examples=["1GB", "4GB"],
    )
    block_allocator_memory: str | None = Field(
        default=None,
        description="Memory a full derive lets the database engine keep for the blocks it allocates "
        "(DuckDB `block_allocator_memory`), so that the blocks one step frees are reused by the next "
        "instead of being returned to the system and requested again. Empty means the memory limit; "
        "`0` leaves the engine's default. The process keeps that memory until it exits.",
        examples=["12GB", "0"],
    )
    threads: int = Field(
        default=0,
        ge=0,
        description="Worker threads of the database engine; 0 means one per core.",
        examples=[0, 2],
    )
    temp_dir: Path | None = Field(
        default=None,
        description="Where the database engine spills; empty means next to the database file.",
        examples=["/tmp/socialcredit-spill"],
    )
    max_field_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Longest single field (and CSV line) an input file may contain, in bytes.",
        examples=[1_000_000],
    )
    ingest_chunk_rows: int = Field(
        default=500_000,
        ge=1000,
        description="Rows checked and appended at a time while ingesting a file (bounds memory).",
        examples=[500_000],
    )
    today: date | None = Field(
        default=None,
        description="The date treated as today (future-dated records are refused; derivations "
        "default to it). Empty means the real date; set it for simulations and tests.",
        examples=["2027-06-01"],
    )
    progress: bool = Field(
        default=True,
        description="Show progress bars on a terminal (never in --json mode or when output is not a terminal).",
        examples=[True],
    )
    max_body_bytes: int = Field(
        default=50_000_000,
        ge=1024,
        description="Largest request body the HTTP service accepts, in bytes (larger: 413 body_too_large).",
        examples=[50_000_000],
    )
    max_batch_items: int = Field(
        default=10_000,
        ge=1,
        description="Most items of one batch check (POST /api/v1/check); more: 413 batch_too_large.",
        examples=[10_000],
    )
    max_upload_bytes: int = Field(
        default=1_000_000_000,
        ge=1024,
        description="Largest uploaded file (multipart/form-data: POST /api/v1/screenings and file "
        "submissions to POST /api/v1/records), in bytes (larger: 413 body_too_large).",
        examples=[1_000_000_000],
    )
    decision_log_group_ms: float = Field(
        default=0.0,
        ge=0,
        le=1000,
        description="The HTTP service commits answered checks to the decision log at most once per "
        "this many milliseconds, all that gathered meanwhile in one commit. 0: the next commit "
        "starts as soon as the last one ends (checks that arrive during a commit share the next).",
        examples=[0.0],
    )
    max_page_size: int = Field(
        default=500,
        ge=1,
        description="Most entries of one page of a public list (GET /api/v1/lists/{list}); "
        "a larger page_size: 422 invalid_request.",
        examples=[500],
    )


def today(settings: Settings | None = None) -> date:
    """The platform's today: the ``today`` setting, or the real date."""
    chosen = (settings or get_settings()).today
    return chosen if chosen is not None else date.today()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()

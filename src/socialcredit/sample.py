"""The bundled sample agency files (a few valid and a few bad rows per agency)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_FILES = ("registry.csv", "court.csv", "railway.jsonl", "market.csv", "tax.csv", "citizens.csv")


def sample_dir() -> Path:
    """Directory holding the sample files."""
    return Path(str(resources.files("socialcredit") / "data" / "sample"))


def sample_files() -> list[Path]:
    """The sample files in ingestion order (registrations first)."""
    return [sample_dir() / name for name in SAMPLE_FILES]


def sample_subject() -> str:
    """A subject of the sample with a story: the legal representative of a listed company."""
    return "371082199003120244"

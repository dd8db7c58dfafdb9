"""Ingestion of agency files into the event log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from socialcredit.ingest.pipeline import Ingestor, Progress, RejectsWriter
from socialcredit.ingest.report import FileProblem, FileSummary, IngestSummary
from socialcredit.store.duckdb_store import DuckDBStore

__all__ = ["FileProblem", "FileSummary", "IngestSummary", "ingest_files"]


def ingest_files(
    store: DuckDBStore,
    paths: list[Path],
    rejects_path: Path,
    progress: Progress | None = None,
    only_source: str | None = None,
) -> IngestSummary:
    """Ingest each file as its own batch (transaction), in order; rejects go to one file. With
    ``only_source`` (an agency's submission), rows of other sources are rejected."""
    from socialcredit.derive import Deriver

    ingestor = Ingestor(store, progress, only_source)
    writer = RejectsWriter(rejects_path)
    files: list[FileSummary] = []
    deriver: Deriver | None = None
    derived = None
    for path in paths:
        summary = ingestor.ingest_file(path, writer)
        files.append(summary)
        if summary.status == "ok" and summary.accepted and summary.run_id is not None:
            # keep the derived state fresh for the subjects this batch touched (once there is one)
            deriver = deriver or Deriver(store)
            if deriver.state() is None:
                continue
            touched = [
                str(r[0])
                for r in store.con.execute(
                    "SELECT DISTINCT subject_id FROM events WHERE run_id = ? UNION "
                    "SELECT DISTINCT json_extract_string(attrs, '$.person_id') FROM events "
                    "WHERE run_id = ? AND json_extract_string(attrs, '$.person_id') IS NOT NULL",
                    [summary.run_id, summary.run_id],
                ).fetchall()
            ]
            refreshed = deriver.refresh(touched)
            if refreshed is not None:
                derived = {
                    "mode": refreshed.mode,
                    "as_of": str(refreshed.as_of),
                    "data_version": refreshed.data_version,
                }
    codes: Counter[str] = Counter()
    for f in files:
        codes.update(f.errors_by_code)
    return IngestSummary(
        rows=sum(f.rows for f in files),
        accepted=sum(f.accepted for f in files),
        duplicates=sum(f.duplicates for f in files),
        rejected=sum(f.rejected for f in files),
        rejects=str(rejects_path) if writer.written else None,
        flagged=sum(f.flagged for f in files),
        catalog_version=ingestor.catalog_version,
        files=files,
        errors_by_code=dict(sorted(codes.items())),
        derived=derived,
    )

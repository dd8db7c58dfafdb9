"""The static HTML report with PNG charts (matplotlib) and ``report.json``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from socialcredit.catalog.models import Catalog
from socialcredit.report import charts
from socialcredit.report.data import ReportData, WrongPerson, collect
from socialcredit.store.duckdb_store import DuckDBStore

HEADLINE_LABELS = {
    "persons": "persons on file",
    "organisations": "organisations on file",
    "records": "records",
    "events": "events (records and follow-ups)",
    "rows_read": "rows read by ingest",
    "rows_rejected": "rows rejected by ingest",
    "subjects_listed": "subjects on a list",
    "subjects_restricted": "subjects under a restriction",
    "subjects_with_incentives": "subjects with an incentive",
    "consenting_scored": "consenting subjects with a score",
    "wrong_person_restricted": "innocent subjects restricted (injected errors)",
}


@dataclass
class Report:
    """Where a report was written and what it holds."""

    directory: Path
    index: Path
    data: ReportData


def write_report(
    store: DuckDBStore,
    catalog: Catalog,
    out: Path,
    as_of: date,
    truth: Path | None = None,
    period_start: date | None = None,
    title: str = "public credit information platform",
) -> Report:
    """Compute the report for ``as_of`` and write ``index.html``, its charts and ``report.json``."""
    out.mkdir(parents=True, exist_ok=True)
    data = collect(store, as_of, truth, period_start)
    files = {
        "scores": charts.scores(out / "scores.png", data, catalog),
        "lists": charts.lists_over_time(out / "lists.png", data),
        "new_restrictions": charts.new_restrictions(out / "new_restrictions.png", data),
        "incentives": charts.incentives(out / "incentives.png", data),
        "reasons": charts.reasons(out / "reasons.png", data),
        "rejects": charts.rejects(out / "rejects.png", data),
        "wrong_person": charts.wrong_person(out / "wrong_person.png", data),
    }
    env = Environment(loader=PackageLoader("socialcredit", "report/templates"), autoescape=select_autoescape())
    headline = [
        (HEADLINE_LABELS.get(k, k), f"{v:,}" if isinstance(v, int) else str(v)) for k, v in data.headline.items()
    ]
    html = env.get_template("report.html.j2").render(data=data, charts=files, headline=headline, title=title)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    (out / "report.json").write_text(data.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return Report(out, index, data)


__all__ = ["Report", "ReportData", "WrongPerson", "write_report"]

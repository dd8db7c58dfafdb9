"""The ``socialcredit`` command line. Every ``--json`` output is a stable contract."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import pyarrow.compute as pc
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from socialcredit import __version__
from socialcredit.catalog import CatalogError, catalog_version, export_default, load_catalog, load_default
from socialcredit.catalog.loader import default_catalog_dir
from socialcredit.decide import Decider, DecisionError
from socialcredit.decide.render import render_check, render_show
from socialcredit.decide.screen_io import ScreenInputError, read_codes, write_result
from socialcredit.derive import Deriver
from socialcredit.identity import codes as id_codes
from socialcredit.ingest import IngestSummary, ingest_files
from socialcredit.settings import Settings, get_settings
from socialcredit.store.base import StoreError
from socialcredit.store.duckdb_store import DuckDBStore

app = typer.Typer(
    name="socialcredit",
    help="An open, auditable public credit information platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Check and export rule catalogs.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SOCIALCREDIT_DB or ./socialcredit.duckdb)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"SOCIALCREDIT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise _fail(f"invalid setting: {problems}") from None


def _db_path(db: Path | None) -> Path:
    return db if db is not None else _settings().db


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _open_store(db: Path | None) -> DuckDBStore:
    path = _db_path(db)
    if not path.exists():
        raise _fail(f"database {path} does not exist: run `socialcredit init --db {path}` first")
    try:
        store = DuckDBStore(path, _settings())
        store.require_schema()
    except StoreError as exc:
        raise _fail(str(exc)) from None
    return store


def _show_progress(json_mode: bool) -> bool:
    return not json_mode and _settings().progress and err.is_terminal


def progress_bar(fraction: bool = True) -> Progress:
    """The progress bar of long commands, on stderr (without a percentage for work of unknown size)."""
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    if fraction:
        columns.append(TaskProgressColumn())
    return Progress(*columns, TimeElapsedColumn(), console=err, transient=True)


def ingest_with_progress(store: DuckDBStore, files: list[Path], rejects: Path, show: bool) -> IngestSummary:
    """``ingest_files`` with a progress bar when ``show``."""
    if not show:
        return ingest_files(store, files, rejects)
    with progress_bar() as bar:
        task = bar.add_task("ingesting", total=1.0)

        def report(message: str, fraction: float | None) -> None:
            bar.update(task, description=message, completed=fraction or 0.0)

        return ingest_files(store, files, rejects, report)


def _version(value: bool) -> None:
    if value:
        out.print(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """socialcredit: records, lists, joint measures, explanations, objections and repair."""


@app.command()
def init(
    db: DbOption = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalog directory (default: $SOCIALCREDIT_CATALOG_DIR or the packaged one)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Create or migrate the database and activate a catalog (safe to re-run)."""
    path = _db_path(db)
    cat_dir = catalog or _settings().catalog_dir
    try:
        cat = load_catalog(cat_dir) if cat_dir else load_default()
    except CatalogError as exc:
        for issue in exc.issues:
            err.print(f"  {issue}", highlight=False, markup=False)
        raise _fail(f"the catalog has {len(exc.issues)} error(s); nothing was changed", 1) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with DuckDBStore(path, _settings()) as store:
            applied = store.migrate()
            version = store.store_catalog(cat)
            schema = store.schema_version()
    except StoreError as exc:
        raise _fail(str(exc)) from None
    result = {
        "db": str(path),
        "schema_version": schema,
        "migrations_applied": applied,
        "catalog": cat.catalog.name,
        "catalog_version": version,
    }
    if json_out:
        _print_json(result)
    else:
        out.print(
            f"database [bold]{path}[/] at schema version {schema}"
            + (f" (applied {applied})" if applied else " (up to date)")
        )
        out.print(f"active catalog [bold]{cat.catalog.name}[/] {version}")


@catalog_app.command("check")
def catalog_check(
    directory: Annotated[Path | None, typer.Argument(help="Catalog directory (default: the packaged one).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Validate a catalog: exit 0 when sound, 1 listing every error."""
    target = directory or default_catalog_dir()
    try:
        cat = load_catalog(target)
    except CatalogError as exc:
        if json_out:
            _print_json({"valid": False, "directory": str(target), "errors": [i.as_dict() for i in exc.issues]})
        else:
            err.print(f"[bold red]{escape(str(target))}: {len(exc.issues)} error(s)[/]", highlight=False)
            for issue in exc.issues:
                err.print(f"  {issue}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
    summary = {
        "valid": True,
        "directory": str(target),
        "name": cat.catalog.name,
        "version": catalog_version(cat),
        "counts": {
            "sources": len(cat.sources),
            "record_types": len(cat.record_types),
            "lists": len(cat.lists),
            "measures": len(cat.measures),
            "memoranda": len(cat.memoranda),
            "actions": len(cat.actions),
            "legal_bases": len(cat.legal_bases),
        },
    }
    if json_out:
        _print_json(summary)
    else:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary["counts"].items())  # type: ignore[attr-defined]
        out.print(f"[green]valid[/] catalog {cat.catalog.name} {summary['version']}: {counts}")


@catalog_app.command("export")
def catalog_export(
    directory: Annotated[Path, typer.Argument(help="Directory to write the default catalog into.")],
) -> None:
    """Write the packaged default catalog out for editing."""
    if directory.exists() and any(directory.iterdir()):
        raise _fail(f"{directory} is not empty; export into a new or empty directory")
    written = export_default(directory)
    out.print(f"wrote {len(written)} files to {directory}; check edits with `socialcredit catalog check {directory}`")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON Lines or Parquet files (.gz allowed for text).")],
    db: DbOption = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Rejects file (JSON Lines); default: <db>.rejects/ingest-<time>.jsonl"),
    ] = None,
    fail_on_reject: Annotated[bool, typer.Option("--fail-on-reject", help="Exit 1 when any row was rejected.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Ingest agency files; each file is one all-or-nothing batch."""
    store = _open_store(db)
    path = _db_path(db)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    rejects_path = rejects or path.with_name(path.name + ".rejects") / f"ingest-{stamp}.jsonl"
    try:
        summary = ingest_with_progress(store, files, rejects_path, _show_progress(json_out))
    except StoreError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    if json_out:
        _print_json(summary.model_dump(mode="json"))
    else:
        table = Table("file", "rows", "accepted", "duplicates", "rejected", "flagged", title="ingest")
        for f in summary.files:
            if f.status == "ok":
                table.add_row(
                    Path(f.file).name, str(f.rows), str(f.accepted), str(f.duplicates), str(f.rejected), str(f.flagged)
                )
            else:
                table.add_row(Path(f.file).name, "[red]failed[/]", "-", "-", "-", "-")
        table.add_row(
            "[bold]total",
            str(summary.rows),
            str(summary.accepted),
            str(summary.duplicates),
            str(summary.rejected),
            str(summary.flagged),
        )
        out.print(table)
        for code, n in summary.errors_by_code.items():
            out.print(f"  rejected for {code}: {n}")
        if summary.rejects:
            out.print(f"rejected rows and their reasons: [bold]{escape(summary.rejects)}[/]")
    for f in summary.failed_files:
        assert f.error is not None
        err.print(
            f"[bold red]error:[/] {escape(f.error['message'])} {escape('[' + f.error['code'] + ']')}; "
            "nothing from this file was written",
            highlight=False,
        )
    if summary.failed_files:
        raise typer.Exit(2)
    if fail_on_reject and summary.rejected:
        raise typer.Exit(1)


@app.command()
def events(
    subject: Annotated[str, typer.Argument(help="Citizen identity number or unified social credit code.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every event recorded about one subject, in log order."""
    kinds = id_codes.kinds_of(subject)
    if not kinds:
        raise _fail(f"{subject!r} is not a valid identity code ({id_codes.invalid_reasons(subject)})")
    code = id_codes.compact_person(subject) if "person" in kinds else id_codes.compact_org(subject)
    store = _open_store(db)
    try:
        rows = store.events_for_subject(code)
    finally:
        store.close()
    if json_out:
        _print_json({"subject": code, "events": [r.model_dump(mode="json") for r in rows]})
        return
    if not rows:
        out.print(f"no events about {code}")
        return
    headers = ["seq", "source", "action", "type", "record", "decided", "document", "amount", "qty", "attrs", "recorded"]
    table = Table(*headers, title=f"events about {code} ({rows[0].subject_name or ''})")
    for r in rows:
        attrs = ", ".join(f"{k}={v}" for k, v in r.attrs.items() if v is not None)
        amount = f"{r.amount:,.2f}" if r.amount is not None else ""
        qty = f"{r.quantity:g}" if r.quantity is not None else ""
        cells = [str(r.seq), r.source, r.action, r.type, r.record_id, str(r.decided_on), r.document_no or ""]
        table.add_row(*cells, amount, qty, attrs, r.recorded_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)


AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Date to answer for, YYYY-MM-DD (default: today).")]
KnownAtOption = Annotated[
    str | None,
    typer.Option("--known-at", help="Answer with what the log knew at this time (ISO date-time, UTC if no zone)."),
]


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--as-of {value!r} is not a date written YYYY-MM-DD") from None


def _known_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--known-at {value!r} is not an ISO date-time such as 2026-03-01T12:00:00") from None
    if len(value) == 10:  # a date alone: everything known by the end of that day
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decider(db: Path | None) -> tuple[DuckDBStore, Decider]:
    store = _open_store(db)
    return store, Decider(store, party="cli")


def _decision_error(exc: DecisionError) -> typer.Exit:
    message = exc.message
    if exc.suggestions:
        message += "; nearest valid actions: " + ", ".join(exc.suggestions)
    return _fail(message)


@app.command()
def derive(
    db: DbOption = None,
    as_of: AsOfOption = None,
    full: Annotated[
        bool, typer.Option("--full", help="Recompute every subject, even when the stored state is current.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Derive lists, measures and scores for every subject on a date (default: today) into the
    stored tables that serve checks and screening; catches up from the last run."""
    store = _open_store(db)
    try:
        deriver = Deriver(store)
        if _show_progress(json_out):
            with err.status("deriving ..."):
                summary = deriver.materialize(_as_of(as_of), full=full)
        else:
            summary = deriver.materialize(_as_of(as_of), full=full)
    finally:
        store.close()
    data = {
        "mode": summary.mode,
        "as_of": str(summary.as_of),
        "data_version": summary.data_version,
        "subjects_listed": summary.subjects,
        "memberships": summary.memberships,
        "measures": summary.measures,
        "seconds": round(summary.seconds, 3),
    }
    if json_out:
        _print_json(data)
    else:
        out.print(
            f"derived ({summary.mode}) for {summary.as_of}: {summary.memberships:,} list memberships of "
            f"{summary.subjects:,} subjects, {summary.measures:,} measures; data version {summary.data_version} "
            f"in {summary.seconds:.1f} s"
        )


@app.command()
def show(
    subject: Annotated[str, typer.Argument(help="Citizen identity number or unified social credit code.")],
    db: DbOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    json_out: JsonOption = False,
) -> None:
    """A subject's whole file on a date: lists, restrictions and incentives with every reason,
    score and grade, and each record's status."""
    store, decider = _decider(db)
    try:
        result = decider.show(subject, _as_of(as_of), _known_at(known_at))
    except DecisionError as exc:
        raise _decision_error(exc) from None
    finally:
        store.close()
    if json_out:
        _print_json(result)
    else:
        render_show(out, result)


@app.command()
def check(
    subject: Annotated[str, typer.Argument(help="Citizen identity number or unified social credit code.")],
    action: Annotated[str, typer.Argument(help="Dotted action, e.g. flight.economy, rail.g.second.")],
    db: DbOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why the question is asked (logged).")] = None,
    json_out: JsonOption = False,
) -> None:
    """May the subject do the action on the date? Every reason, until when, on what basis;
    the decision is logged with its id."""
    store, decider = _decider(db)
    try:
        result = decider.check(subject, action, _as_of(as_of), _known_at(known_at), purpose)
    except DecisionError as exc:
        raise _decision_error(exc) from None
    finally:
        store.close()
    if json_out:
        _print_json(result)
    else:
        render_check(out, result)


@app.command()
def screen(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file with a column of identity codes.")],
    action: Annotated[str, typer.Option("--action", help="The action to check for every code.")],
    out_path: Annotated[Path, typer.Option("--out", help="Result file (.csv or .parquet).")],
    db: DbOption = None,
    as_of: AsOfOption = None,
    column: Annotated[
        str | None, typer.Option("--column", help="Column holding the codes (default: subject_id, else the first).")
    ] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why the screening is done (logged).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Check one action for every identity code of a file, vectorised; every row is logged."""
    try:
        values = read_codes(file, column)
    except ScreenInputError as exc:
        raise _fail(str(exc)) from None
    store, decider = _decider(db)
    try:
        result = decider.screen(values, action, _as_of(as_of), purpose)
    except DecisionError as exc:
        raise _decision_error(exc) from None
    finally:
        store.close()
    write_result(result, out_path)
    counts = {
        "rows": result.num_rows,
        "invalid": result.num_rows - pc.sum(result.column("valid")).as_py() if result.num_rows else 0,
        "allowed": pc.sum(result.column("allowed")).as_py() or 0,
        "restricted": result.num_rows - (pc.sum(result.column("allowed")).as_py() or 0),
        "out": str(out_path),
    }
    if json_out:
        _print_json(counts)
    else:
        out.print(
            f"screened {counts['rows']:,} codes for {action}: {counts['restricted']:,} restricted, "
            f"{counts['allowed']:,} allowed, {counts['invalid']:,} invalid codes; results in {out_path}"
        )


@app.command()
def verify(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Recompute the hash chain of the ingest runs from the stored events: exit 0 when the
    log is intact, 1 naming every run whose events or record changed."""
    store = _open_store(db)
    try:
        report = store.verify_chain()
    finally:
        store.close()
    broken = [r for r in report if not r["ok"]]
    if json_out:
        _print_json({"runs": len(report), "intact": not broken, "broken": broken})
    elif broken:
        for r in broken:
            err.print(f"run {r['run_id']} ({escape(str(r['file']))}): {'; '.join(r['problems'])}", highlight=False)  # type: ignore[arg-type]
    else:
        out.print(f"[green]intact[/]: {len(report)} runs, every digest recomputes from the stored events")
    if broken:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point."""
    app()


# the commands about a whole city (simulate, report, demo), of the HTTP service (serve, keys) and
# of the decision log (decisions export) live in their own modules
from socialcredit import cli_api, cli_city, cli_decisions  # noqa: E402, F401

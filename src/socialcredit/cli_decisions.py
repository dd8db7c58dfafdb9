"""The commands about the decision log: ``decisions export``."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from socialcredit.cli import (
    DbOption,
    JsonOption,
    _fail,
    _open_store,
    _print_json,
    _show_progress,
    app,
    err,
    out,
    progress_bar,
)
from socialcredit.decide.export import (
    FORMATS,
    ExportError,
    ExportPlan,
    ExportSummary,
    Window,
    export_to_file,
    format_for,
    plan_export,
    write_export,
)
from socialcredit.store.duckdb_store import DuckDBStore

decisions_app = typer.Typer(help="The decision log: every answered check and screened row.", no_args_is_help=True)
app.add_typer(decisions_app, name="decisions")

PROGRESS_ROWS = 500_000
"""Exports of at least this many lines show a progress bar (on a terminal)."""

_MOMENT_HELP = "a date (2026-11-26, midnight UTC) or an ISO date-time (UTC when no zone is given)"


def _moment(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"{option} {value!r} is not {_MOMENT_HELP}, such as 2026-11-26T09:30:00Z") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    with progress_bar() as bar:
        task = bar.add_task("exporting decisions", total=total)

        def tell(written: int) -> None:
            bar.update(task, completed=written)

        yield tell


@decisions_app.command("export")
def decisions_export(
    since: Annotated[
        str | None, typer.Option("--since", help=f"Export decisions made at or after this time: {_MOMENT_HELP}.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Export decisions made before this time (as for --since).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl (default: jsonl for an --out file named *.jsonl, else csv)."),
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="File to write the export to (default: standard output).")
    ] = None,
    party: Annotated[
        str | None, typer.Option("--party", help="Export only the decisions asked for by this party (exact name).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Export the decision log: every logged check and every screened row (one line each), in
    the order decided, as CSV or JSON Lines."""
    window = Window(_moment("--since", since), _moment("--until", until), party)
    if window.since is not None and window.until is not None and window.since >= window.until:
        raise _fail(f"--since {since} is not before --until {until}: no decision can be in between")
    if fmt is not None and fmt not in FORMATS:
        raise _fail(f"--format {fmt!r}: choose csv or jsonl")
    if json_out and out_path is None:
        raise _fail("--json prints the summary on standard output: give --out FILE for the export itself")
    if out_path is not None and out_path.is_dir():
        raise _fail(f"--out {out_path} is a directory: name the file to write")
    chosen = format_for(out_path, fmt)
    store = _open_store(db)
    try:
        try:
            plan = plan_export(store, window)
        except ExportError as exc:
            raise _incomplete(exc) from None
        show = _show_progress(json_out) and plan.decisions >= PROGRESS_ROWS
        with _progress(show and (out_path is not None or not sys.stdout.isatty()), plan.decisions) as tell:
            if out_path is not None:
                try:
                    summary = export_to_file(store, plan, out_path, chosen, tell)
                except OSError as exc:  # writing the file, or a screening log file that went away meanwhile
                    raise _fail(f"cannot export to {out_path}: {exc}; nothing was exported") from None
            else:
                summary = _to_stdout(store, plan, chosen, tell)
    finally:
        store.close()
    data = {
        "decisions": summary.decisions,
        "checks": summary.checks,
        "screened_rows": summary.screened_rows,
        "screenings": summary.screenings,
        "out": str(out_path) if out_path is not None else None,
        "format": summary.format,
        "since": _iso(window.since),
        "until": _iso(window.until),
        "party": party,
    }
    if json_out:
        _print_json(data)
        return
    line = (
        f"exported {_n(summary.decisions, 'decision')} ({_n(summary.checks, 'check')}, "
        f"{_n(summary.screened_rows, 'screened row')} of {_n(summary.screenings, 'screening')}) "
        f"as {summary.format} to "
    )
    if out_path is not None:
        out.print(line + f"[bold]{escape(str(out_path))}[/]", highlight=False, soft_wrap=True)
    else:
        err.print(line + "standard output", highlight=False, soft_wrap=True)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _incomplete(exc: ExportError) -> typer.Exit:
    if len(exc.problems) == 1:
        return _fail(f"the decision log is incomplete: {exc.problems[0]}; nothing was exported", 1)
    for problem in exc.problems:
        err.print(f"  {problem}", markup=False, highlight=False)
    return _fail(
        f"the decision log is incomplete: {len(exc.problems)} screenings cannot be read (above); nothing was exported",
        1,
    )


def _to_stdout(store: DuckDBStore, plan: ExportPlan, fmt: str, tell: Callable[[int], None] | None) -> ExportSummary:
    """The export on standard output; a reader that stops early (``| head``) ends it quietly."""
    sys.stdout.flush()
    try:
        return write_export(store, plan, sys.stdout.buffer, fmt, tell)
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE and "Broken pipe" not in str(exc):
            raise
        # nobody reads any more: stop writing, and keep Python from failing on its final flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None

"""The commands about a whole city: ``simulate`` (a synthetic population and its agency files),
``report`` (a static HTML page with charts) and ``demo`` (everything, end to end)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from dateutil.relativedelta import relativedelta
from rich.markup import escape
from rich.table import Table

from socialcredit.api.keys import create_key, list_keys, revoke_key
from socialcredit.catalog import load_default
from socialcredit.cli import (
    AsOfOption,
    DbOption,
    JsonOption,
    _as_of,
    _fail,
    _open_store,
    _print_json,
    _show_progress,
    app,
    check,
    err,
    ingest_with_progress,
    init,
    out,
    progress_bar,
    show,
)
from socialcredit.cli_api import serve
from socialcredit.derive import Deriver
from socialcredit.settings import today
from socialcredit.sim import MANIFEST, TRUTH, Manifest, ScenarioError, read_manifest, simulate, steps
from socialcredit.sim.scenario import load_scenario

if TYPE_CHECKING:
    from socialcredit.report import Report

DEMO_PERSONS = 700_000
DEMO_ERROR_RATE = 0.002
DEMO_SEED = 2026


@contextmanager
def _stage(name: str, times: dict[str, float], show_spinner: bool) -> Iterator[None]:
    """Time a stage, with an (indeterminate) progress bar on the terminal."""
    start = time.perf_counter()
    if show_spinner:
        with progress_bar(fraction=False) as bar:
            bar.add_task(f"{name} ...", total=None)
            yield
    else:
        yield
    times[name] = time.perf_counter() - start
    out.print(f"[green]✓[/] {name} [dim]({times[name]:.1f} s)[/]")


def _parse_start(start: str | None, years: int) -> date:
    if start is None:
        return today() - relativedelta(years=years)
    try:
        return date.fromisoformat(start)
    except ValueError:
        raise _fail(f"--start {start!r} is not a date written YYYY-MM-DD") from None


def _run_simulation(
    directory: Path,
    persons: int,
    orgs: int | None,
    years: int,
    start: date,
    seed: int,
    scenario: Path | None,
    error_rate: float,
    fmt: Literal["csv", "parquet"],
    progress: Callable[[str, float], None] | None = None,
) -> Manifest:
    try:
        return simulate(
            directory,
            persons,
            years,
            start,
            seed,
            orgs=orgs,
            scenario=load_scenario(scenario),
            error_rate=error_rate,
            fmt=fmt,
            progress=progress,
            today=today(),
        )
    except ScenarioError as exc:
        raise _fail(f"invalid scenario:\n{exc}") from None
    except ValueError as exc:
        raise _fail(str(exc)) from None


@app.command(name="simulate")
def simulate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the agency files and the ground truth.")],
    persons: Annotated[int, typer.Option("--persons", min=1, help="Number of persons.")] = 10_000,
    orgs: Annotated[
        int | None, typer.Option("--orgs", min=1, help="Number of organisations (default: by the scenario's ratio).")
    ] = None,
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="Years simulated.")] = 5,
    start: Annotated[
        str | None, typer.Option("--start", help="First day, YYYY-MM-DD (default: that many years before today).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same arguments give the same bytes.")] = 1,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario YAML (default: the packaged Rongcheng-like city).")
    ] = None,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=1.0, help="Share of person records with a data error.")
    ] = 0.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    json_out: JsonOption = False,
) -> None:
    """Build a synthetic city and write what its agencies would submit: one file per source in
    the record format, plus truth.parquet (who really did what), the population and a manifest."""
    if fmt not in ("csv", "parquet"):
        raise _fail(f"--format {fmt!r}: choose csv or parquet")
    first = _parse_start(start, years)
    times: dict[str, float] = {}
    kind: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    with _simulation_progress(_show_progress(json_out), scenario) as tell:

        def progress(step: str, seconds: float) -> None:
            stage = step.split(":")[0]
            times[stage] = times.get(stage, 0.0) + seconds
            tell(step)

        manifest = _run_simulation(out_dir, persons, orgs, years, first, seed, scenario, error_rate, kind, progress)
    if not json_out:
        for stage, seconds in times.items():
            out.print(f"[green]✓[/] {stage} [dim]({seconds:.1f} s)[/]")
    if json_out:
        data = manifest.model_dump(mode="json")
        data["directory"] = str(out_dir)
        data["seconds"] = {k: round(v, 3) for k, v in times.items()}
        _print_json(data)
        return
    table = Table("file", "rows", "records", "errors injected", title=f"simulated {manifest.scenario}")
    for f in manifest.files:
        table.add_row(f.file, f"{f.rows:,}", f"{f.creates:,}", f"{sum(f.errors.values()):,}")
    table.add_row("[bold]total", f"{manifest.events:,}", "", f"{sum(manifest.errors.values()):,}")
    out.print(table)
    out.print(
        f"{manifest.persons:,} persons and {manifest.organisations:,} organisations, {manifest.start} to "
        f"{manifest.end}; files in {escape(str(out_dir))} (ingest them in the manifest's order)"
    )


@contextmanager
def _simulation_progress(show_bar: bool, scenario: Path | None) -> Iterator[Callable[[str], None]]:
    """A progress bar over the simulator's steps (population, each record type, each file)."""
    if not show_bar:
        yield lambda step: None
        return
    try:
        total = steps(load_scenario(scenario), load_default())
    except (ScenarioError, ValueError):
        total = 1
    with progress_bar() as bar:
        task = bar.add_task("simulating the population", total=total)

        def tell(step: str) -> None:
            bar.update(task, advance=1, description=f"simulated {step.replace(':', ' ')}")

        yield tell


def _report(db: Path | None, out_dir: Path, as_of: date, sim: Path | None) -> Report:
    from socialcredit.report import write_report  # matplotlib: loaded only when a report is made

    store = _open_store(db)
    try:
        truth = None
        period_start = None
        if sim is not None:
            truth = sim / TRUTH
            if not truth.exists():
                raise _fail(f"{sim} holds no {TRUTH}: give the directory `socialcredit simulate --out` wrote")
            if (sim / MANIFEST).exists():
                period_start = read_manifest(sim).start
        _, catalog = store.active_catalog()
        return write_report(store, catalog, out_dir, as_of, truth, period_start)
    finally:
        store.close()


@app.command()
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for index.html, the charts and report.json.")],
    db: DbOption = None,
    as_of: AsOfOption = None,
    sim: Annotated[
        Path | None,
        typer.Option("--sim", help="Simulation directory: its ground truth measures wrong-person harm."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Write a static HTML report with PNG charts: scores and grades, list sizes over time, new
    restrictions per month, incentives, reasons for listing, rejects and wrong-person harm."""
    day = _as_of(as_of) or today()
    with err.status("computing the report ...") if _show_progress(json_out) else _nothing():
        result = _report(db, out_dir, day, sim)
    if json_out:
        data = result.data.model_dump(mode="json", exclude={"scores"})
        data["index"] = str(result.index)
        _print_json(data)
    else:
        out.print(f"report written: [bold]{escape(str(result.index))}[/]")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _same_simulation(directory: Path, persons: int, years: int, start: date, seed: int, rate: float) -> bool:
    if not (directory / MANIFEST).exists():
        return False
    try:
        m = read_manifest(directory)
    except ValueError:
        return False
    wanted = (persons, years, start, seed, rate, load_scenario().digest())
    have = (m.persons, m.years, m.start, m.seed, m.error_rate, m.scenario_digest)
    return wanted == have and all(p.exists() for p in m.paths(directory))


def _ingest_all(db: Path, files: list[Path], rejects: Path, show_bar: bool) -> tuple[int, int, int, int]:
    store = _open_store(db)
    try:
        summary = ingest_with_progress(store, files, rejects, show_bar)
    finally:
        store.close()
    if summary.failed_files:
        raise _fail("; ".join(f"{f.file}: {f.error}" for f in summary.failed_files))
    return summary.rows, summary.accepted, summary.duplicates, summary.rejected


def _examples(db: Path) -> dict[str, str]:
    """Real subjects of the run worth looking at: a person restricted through a listed company,
    a judgment defaulter, a railway-restricted passenger, a tax A-grade company."""
    store = _open_store(db)
    picks: dict[str, str] = {}
    queries = {
        "legal representative of a listed company": "SELECT subject_id FROM d_measures WHERE via_role IS NOT NULL "
        "AND measure = 'high_consumption' ORDER BY subject_id LIMIT 1",
        "judgment defaulter": "SELECT subject_id FROM d_memberships WHERE list = 'judgment_defaulters' "
        "AND subject_kind = 'person' ORDER BY subject_id LIMIT 1",
        "railway-restricted passenger": "SELECT subject_id FROM d_memberships WHERE list = 'railway_restricted' "
        "ORDER BY subject_id LIMIT 1",
        "company with tax grade A": "SELECT subject_id FROM d_memberships WHERE list = 'tax_grade_a' "
        "ORDER BY subject_id LIMIT 1",
    }
    try:
        for label, sql in queries.items():
            row = store.con.execute(sql).fetchone()
            if row:
                picks[label] = str(row[0])
    finally:
        store.close()
    return picks


def _summary(rep: Report, times: dict[str, float], ingest_counts: tuple[int, int, int, int]) -> None:
    d = rep.data
    h = d.headline
    t = Table("", "", title="the city on " + str(d.as_of), show_header=False)
    t.add_row("persons / organisations on file", f"{h['persons']:,} / {h['organisations']:,}")
    t.add_row("records / events", f"{h['records']:,} / {h['events']:,}")
    rows, accepted, dups, rejected = ingest_counts
    t.add_row("rows read / accepted / duplicates / rejected", f"{rows:,} / {accepted:,} / {dups:,} / {rejected:,}")
    t.add_row("subjects on a list", f"{h['subjects_listed']:,}")
    t.add_row("subjects under a restriction", f"{h['subjects_restricted']:,}")
    t.add_row("subjects with an incentive", f"{h['subjects_with_incentives']:,}")
    t.add_row("consenting subjects with a score", f"{h['consenting_scored']:,}")
    out.print(t)
    lists = Table("list", "subjects", title="lists")
    for name, n in d.list_sizes.items():
        lists.add_row(name, f"{n:,}")
    out.print(lists)
    measures = Table("measure", "kind", "direct", "through a role", title="restrictions and incentives by measure")
    for name, split in d.restrictions_by_measure.items():
        measures.add_row(name, "restriction", f"{split['direct']:,}", f"{split['via_role']:,}")
    for name, count in d.incentives_by_measure.items():
        measures.add_row(name, "incentive", f"{count:,}", "")
    out.print(measures)
    total = sum(d.grades.values())
    if total:
        grades = Table("grade", "subjects", "share", title="grades (consenting subjects)")
        for g, n in d.grades.items():
            grades.add_row(g, f"{n:,}", f"{100 * n / total:.1f}%")
        out.print(grades)
    rej = Table("reason", "rows", title="rejects by reason")
    for code, n in d.rejects_by_reason.items():
        rej.add_row(code, f"{n:,}")
    if d.rejects_by_reason:
        out.print(rej)
    if d.wrong_person is not None:
        w = d.wrong_person
        out.print(
            f"wrong-person harm: {w.injected:,} transposed codes injected, {w.accepted:,} accepted; "
            f"{w.listed_subjects:,} innocent subject(s) listed, {w.restricted_subjects:,} restricted "
            f"({w.restrictions:,} measures), {w.scored_subjects:,} innocent score(s) lowered"
        )
    stages = Table("stage", "seconds", title="stages")
    for name, seconds in times.items():
        stages.add_row(name, f"{seconds:.1f}")
    out.print(stages)


@app.command()
def demo(
    persons: Annotated[int, typer.Option("--persons", min=100, help="Persons in the synthetic city.")] = DEMO_PERSONS,
    directory: Annotated[Path, typer.Option("--dir", help="Where to put the files, database and report.")] = Path(
        "demo"
    ),
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="Years simulated.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = DEMO_SEED,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=1.0, help="Share of person records with a data error.")
    ] = DEMO_ERROR_RATE,
    serve_after: Annotated[
        bool,
        typer.Option("--serve", help="End by serving the HTTP API over the demo database, with demo keys."),
    ] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of --serve.")] = 8000,
) -> None:
    """Simulate a Rongcheng-sized city, ingest every agency file, derive today's lists and
    measures, print a summary, write the report and show real subjects' files; with --serve,
    go on serving the HTTP API. Safe to re-run: an unchanged simulation is reused and its rows
    are found duplicates."""
    directory.mkdir(parents=True, exist_ok=True)
    sim_dir = directory / "agency-files"
    db = directory / "socialcredit.duckdb"
    start = today() - relativedelta(years=years)
    times: dict[str, float] = {}
    spinner = err.is_terminal
    out.rule(f"socialcredit demo: a synthetic city of {persons:,} persons over {years} years")
    if _same_simulation(sim_dir, persons, years, start, seed, error_rate):
        manifest = read_manifest(sim_dir)
        out.print(f"reusing the simulation in {escape(str(sim_dir))} (same parameters)")
    else:
        with _stage("simulate", times, False), _simulation_progress(spinner, None) as tell:
            if sim_dir.exists():
                shutil.rmtree(sim_dir)
            manifest = _run_simulation(
                sim_dir, persons, None, years, start, seed, None, error_rate, "csv", lambda step, _s: tell(step)
            )
        # a database of an earlier, different simulation would find its event ids in conflict
        for stale in (db, db.with_name(db.name + ".wal"), db.with_name(db.name + ".rejects")):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
    out.print(
        f"{manifest.persons:,} persons, {manifest.organisations:,} organisations, {manifest.events:,} events in "
        f"{len(manifest.files)} agency files ({manifest.start} to {manifest.end})"
    )
    if not db.exists():
        init(db=db, catalog=None, json_out=False)
    with _stage("ingest", times, False):
        counts = _ingest_all(db, manifest.paths(sim_dir), directory / "rejects.jsonl", _show_progress(False))
    with _stage("derive", times, spinner):
        store = _open_store(db)
        try:
            Deriver(store).materialize(today())
        finally:
            store.close()
    with _stage("report", times, spinner):
        rep = _report(db, directory / "report", today(), sim_dir)
    _summary(rep, times, counts)
    examples = _examples(db)
    story = examples.get("legal representative of a listed company") or next(iter(examples.values()), None)
    if story is not None:
        out.rule(f"the file of {story}")
        show(subject=story, db=db, as_of=None, known_at=None, json_out=False)
        out.rule(f"may {story} buy an economy-class flight ticket?")
        check(subject=story, action="flight.economy", db=db, as_of=None, known_at=None, purpose="demo", json_out=False)
    out.rule("next")
    out.print(f"report: [bold]{escape(str(rep.index))}[/] (open it in a browser)")
    for label, subject in examples.items():
        out.print(f"{label}: socialcredit show {subject} --db {escape(str(db))}")
    if examples:
        first = next(iter(examples.values()))
        out.print(f"try: socialcredit check {first} rail.g.second --db {escape(str(db))} --json")
    out.print(
        f"the report for another day: socialcredit report --db {escape(str(db))} --out report-2025 "
        f"--as-of 2025-06-30 --sim {escape(str(sim_dir))}"
    )
    if not serve_after:
        out.print(
            f"the HTTP API: socialcredit demo --serve (or: socialcredit keys create --role relying_party "
            f"--purpose 'flight.*' --db {escape(str(db))}, then socialcredit serve --db {escape(str(db))})"
        )
        return
    keys = _demo_keys(db)
    base = f"http://127.0.0.1:{port}/api/v1"
    subject = story or "371082199003120244"
    out.rule("the HTTP API")
    out.print(
        f"demo keys (earlier demo keys are revoked): relying party (flight.*, rail.*) and operator; OpenAPI at "
        f"http://127.0.0.1:{port}/docs"
    )
    out.print(
        f'curl -H "Authorization: Bearer {keys["relying_party"]}" {base}/check/{subject}/flight.economy',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f'curl -H "Authorization: Bearer {keys["operator"]}" {base}/subjects/{subject}',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"curl '{base}/lists/judgment_defaulters?page_size=5'", markup=False, highlight=False, soft_wrap=True)
    serve(db=db, host="127.0.0.1", port=port, workers=1)


DEMO_KEYS = {"relying_party": "demo airline and railway", "operator": "demo operator"}


def _demo_keys(db: Path) -> dict[str, str]:
    """Fresh demo keys (a relying party for flights and trains, an operator); earlier demo
    keys of the database are revoked."""
    store = _open_store(db)
    try:
        for key in list_keys(store):
            if key.revoked_at is None and DEMO_KEYS.get(key.role) == key.name:
                revoke_key(store, key.id)
        made = {
            "relying_party": create_key(
                store, "relying_party", name=DEMO_KEYS["relying_party"], purposes=["flight.*", "rail.*"]
            )[0],
            "operator": create_key(store, "operator", name=DEMO_KEYS["operator"])[0],
        }
    finally:
        store.close()
    return made

"""The synthetic city: a population, what it does over the years, and the agency files that
record it (with injected data errors and a ground truth), ready for the normal pipeline."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from dateutil.relativedelta import relativedelta
from faker.providers.person.zh_CN import Provider as PersonNames
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.catalog import load_default
from socialcredit.catalog.models import Catalog, RecordType
from socialcredit.sim.behaviour import World
from socialcredit.sim.errors import KINDS, inject
from socialcredit.sim.events import CREATE, Batch, concat
from socialcredit.sim.output import TRUTH_SCHEMA, Format, SourceFile, SourceWriter, sort_for_file, write_population
from socialcredit.sim.population import make_organisations, make_persons
from socialcredit.sim.scenario import Scenario, ScenarioError, load_scenario

MANIFEST = "manifest.json"
TRUTH = "truth.parquet"
FIRST_SOURCES = ("registry",)  # ingested first: the roles that measures reach through


class Manifest(BaseModel):
    """What a simulation wrote (``manifest.json``): its parameters, files in ingestion order,
    counts and injected errors."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scenario": "rongcheng-like city",
                    "scenario_digest": "be6c11e6151abe69",
                    "seed": 1,
                    "persons": 1000,
                    "organisations": 60,
                    "years": 5,
                    "start": "2021-11-26",
                    "end": "2026-11-26",
                    "error_rate": 0.0,
                    "format": "csv",
                    "files": [{"source": "registry", "file": "registry.csv", "rows": 70, "creates": 66, "errors": {}}],
                    "events": 2500,
                    "errors": {"check_character": 0, "transposition": 0, "name_variant": 0},
                }
            ]
        }
    )
    scenario: str
    scenario_digest: str
    seed: int
    persons: int
    organisations: int
    years: int
    start: date
    end: date
    error_rate: float
    format: Format
    files: list[SourceFile]
    events: int
    errors: dict[str, int] = Field(default_factory=dict)
    truth: str = TRUTH

    def paths(self, directory: Path) -> list[Path]:
        """The agency files in ingestion order."""
        return [directory / f.file for f in self.files]


def steps(scenario: Scenario, catalog: Catalog) -> int:
    """How many progress steps :func:`simulate` reports."""
    consent = catalog.points.consent_type if catalog.points else "consent.scoring"
    sources = {s for r in scenario.records for s in r.sources} | {"registry", catalog.record_types[consent].sources[0]}
    return 1 + len(scenario.records) + 2 + len(sources)


def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(part.encode())])


def simulate(
    out: Path,
    persons: int,
    years: int,
    start: date,
    seed: int,
    orgs: int | None = None,
    scenario: Scenario | None = None,
    error_rate: float = 0.0,
    fmt: Format = "csv",
    catalog: Catalog | None = None,
    progress: Callable[[str, float], None] | None = None,
    today: date | None = None,
) -> Manifest:
    """Simulate the city and write its agency files, ground truth, population and manifest into
    ``out``. Deterministic for the same arguments. ``progress(step, seconds)`` is told as each
    step ends: ``population``, ``behaviour:<record type>`` for each type (roles and consent
    included), ``files:<file name>`` for each agency file (see :func:`steps`)."""
    catalog = catalog or load_default()
    scenario = scenario or load_scenario()
    problems = scenario.check(catalog)
    if problems:
        raise ScenarioError("\n".join(problems))
    if persons < 1 or years < 1:
        raise ValueError("persons and years must be at least 1")
    if not 0 <= error_rate <= 1:
        raise ValueError(f"error rate {error_rate} is not between 0 and 1")
    end = start + relativedelta(years=years)
    if end > (today or date.today()):
        raise ValueError(f"the simulated period {start}..{end} ends after today: ingest refuses future dates")
    n_orgs = orgs if orgs is not None else max(1, round(persons * scenario.population.orgs_per_person))
    out.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()

    def done(stage: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        if progress is not None:
            progress(stage, now - tick)
        tick = now

    people = make_persons(_rng(seed, "persons"), persons, start, scenario.population)
    firms = make_organisations(
        _rng(seed, "organisations"), n_orgs, start, end, scenario.population, scenario.roles.founded_years_before
    )
    write_population(out, people, firms)
    done("population")
    world = World(scenario, catalog, people, firms, start, end, _rng(seed, "propensity"))
    by_source: dict[str, list[Batch]] = {}
    for rule in scenario.records:
        world.rng = _rng(seed, rule.type)
        batch = world.records(rule)
        sources = list(rule.sources)
        weights = np.array([rule.sources[s] for s in sources], dtype=np.float64)
        pick = world.rng.choice(len(sources), len(batch), p=weights / weights.sum())
        pick = np.where(batch.parent >= 0, pick[np.maximum(batch.parent, 0)], pick)
        for i, source in enumerate(sources):
            rows = np.flatnonzero(pick == i)
            if len(rows):
                by_source.setdefault(source, []).append(batch.take(rows))
        done(f"behaviour:{rule.type}")
    world.rng = _rng(seed, "registry.role")
    by_source.setdefault("registry", []).append(world.roles())
    done("behaviour:registry.role")
    consent_type = catalog.points.consent_type if catalog.points else "consent.scoring"
    world.rng = _rng(seed, consent_type)
    consent_source = catalog.record_types[consent_type].sources[0]
    by_source.setdefault(consent_source, []).append(world.consents(consent_type))
    done(f"behaviour:{consent_type}")
    order = [s for s in FIRST_SOURCES if s in by_source] + sorted(s for s in by_source if s not in FIRST_SOURCES)
    pool = [g for g in PersonNames.first_names if len(g) == 1]
    written: list[SourceFile] = []
    total_errors = dict.fromkeys(KINDS, 0)
    suffix = "csv" if fmt == "csv" else "parquet"
    with pq.ParquetWriter(out / TRUTH, TRUTH_SCHEMA, compression="zstd") as truth:
        for source in order:
            batch = sort_for_file(concat(by_source[source]))
            eligible = (batch.action == CREATE) & (batch.subject < len(people))
            injected = inject(
                _row_value(people.codes, batch.subject),
                _row_value(people.names, batch.subject),
                eligible,
                error_rate,
                scenario.errors,
                _rng(seed, "errors:" + source),
                pool,
            )
            attributes = sorted({a for rt in catalog.record_types.values() for a in _attribute_names(rt, source)})
            attributes = [a for a in attributes if a in batch.attrs or (a == "person_id" and batch.person is not None)]
            name = f"{source}.{suffix}"
            SourceWriter(source, batch, people, firms, injected, attributes).write(out / name, fmt, truth)
            counts = {k: injected.kind.count(i) for i, k in enumerate(KINDS)}
            for k, v in counts.items():
                total_errors[k] += v
            written.append(SourceFile(source, name, len(batch), int((batch.action == CREATE).sum()), counts))
            done(f"files:{name}")
    manifest = Manifest(
        scenario=scenario.name,
        scenario_digest=scenario.digest(),
        seed=seed,
        persons=persons,
        organisations=n_orgs,
        years=years,
        start=start,
        end=end,
        error_rate=error_rate,
        format=fmt,
        files=written,
        events=sum(f.rows for f in written),
        errors=total_errors,
    )
    (out / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest


def _row_value(values: pa.StringArray, subject: npt.NDArray[np.int64]) -> Callable[[int], str]:
    """A row's value (code or name) of its subject."""

    def value(row: int) -> str:
        return str(values[int(subject[row])].as_py())

    return value


def _attribute_names(rt: RecordType, source: str) -> set[str]:
    if source not in rt.sources:
        return set()
    names = set(rt.attributes)
    for fu in rt.follow_ups.values():
        names |= set(fu.attributes)
    return names


def read_manifest(directory: Path) -> Manifest:
    """The manifest of a simulation directory."""
    return Manifest.model_validate_json((directory / MANIFEST).read_text(encoding="utf-8"))


__all__ = ["MANIFEST", "TRUTH", "Manifest", "ScenarioError", "read_manifest", "simulate", "steps"]

"""The simulator's scenario: population mix, propensities and per-record-type behaviour, as
data (a YAML file) validated by pydantic models and checked against the catalog."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialcredit.catalog.models import Catalog

Kind = Literal["person", "organisation"]


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with every reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dist(_Model):
    """How an attribute is drawn: one of ``values`` (with optional ``weights``), a ``pattern``
    with ``{year}`` and ``{n}`` (the record's year and number), or the year before the record's
    (``previous_year``). ``when`` limits the attribute to records whose other attributes match;
    elsewhere it is empty."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"values": [1, 2, 3], "weights": [0.5, 0.3, 0.2]}]}
    )
    values: list[str | int] | None = None
    weights: list[float] | None = None
    pattern: str | None = None
    previous_year: bool = False
    when: dict[str, list[str | int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Dist:
        kinds = sum([self.values is not None, self.pattern is not None, self.previous_year])
        if kinds != 1:
            raise ValueError("give exactly one of values, pattern or previous_year")
        if self.values is not None and not self.values:
            raise ValueError("values is empty")
        if self.weights is not None:
            if self.values is None or len(self.weights) != len(self.values):
                raise ValueError("weights needs one weight per value")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative with a positive sum")
        return self

    def probabilities(self) -> list[float]:
        """The normalised weights (uniform without weights)."""
        assert self.values is not None
        w = self.weights or [1.0] * len(self.values)
        total = sum(w)
        return [x / total for x in w]


class FollowUp(_Model):
    """A follow-up event (performance, deletion, extension, repair) for a ``share`` of the
    records matching ``when``, ``days`` after the record (for ``repair``: after the minimum
    publication period; for ``delist_after_perform``: after the performance)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"share": 0.7, "days": [30, 400]}]}
    )
    share: float = Field(ge=0, le=1)
    days: tuple[int, int]
    when: dict[str, list[str | int]] = Field(default_factory=dict)
    reason: Dist | None = None
    attrs: dict[str, Dist] = Field(default_factory=dict)

    @field_validator("days")
    @classmethod
    def _days(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 0 or v[1] < v[0]:
            raise ValueError("days must be [low, high] with 0 <= low <= high")
        return v


class Burst(_Model):
    """Repeat offences: a ``share`` of the records (matching ``when``) are followed by ``count``
    more of the same kind by the same subject, each ``days`` after the previous one."""

    share: float = Field(ge=0, le=1)
    count: tuple[int, int]
    days: tuple[int, int]
    when: dict[str, list[str | int]] = Field(default_factory=dict)


class RecordRule(_Model):
    """How one record type occurs."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "utility.arrears",
                    "sources": {"utility": 1},
                    "rate": {"person": 0.03},
                    "amount": [50, 5000],
                    "document": "欠费通知〔{year}〕{n}号",
                    "perform": {"share": 0.85, "days": [10, 200]},
                }
            ]
        },
    )
    type: str
    sources: dict[str, float]
    rate: dict[Kind, float]
    propensity: Literal["negative", "positive"] = "negative"
    schedule: dict[Literal["annual"], str] | None = None
    document: str
    amount: tuple[float, float] | None = None
    quantity: tuple[int, int] | None = None
    attrs: dict[str, Dist] = Field(default_factory=dict)
    burst: Burst | None = None
    perform: FollowUp | None = None
    delist_after_perform: FollowUp | None = None
    delist: FollowUp | None = None
    extend: FollowUp | None = None
    repair: FollowUp | None = None

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: dict[Kind, float]) -> dict[Kind, float]:
        if any(r < 0 for r in v.values()):
            raise ValueError("rates must be non-negative")
        return v

    def annual_day(self) -> tuple[int, int] | None:
        """(month, day) of an annual schedule."""
        if self.schedule is None:
            return None
        month, day = self.schedule["annual"].split("-")
        return int(month), int(day)


class Population(_Model):
    local_region: str = Field(pattern=r"^\d{6}$")
    local_share: float = Field(ge=0, le=1)
    local_prefix: str = Field(pattern=r"^\d{2,4}$")
    male_share: float = Field(ge=0, le=1)
    age_shares: list[tuple[int, int, float]]
    orgs_per_person: float = Field(ge=0)


class Propensity(_Model):
    negative_shape: float = Field(gt=0)
    positive_shape: float = Field(gt=0)


class Roles(_Model):
    founded_years_before: int = Field(ge=0)
    actual_controller_share: float = Field(ge=0, le=1)
    change_rate: float = Field(ge=0)


class Consent(_Model):
    share: float = Field(ge=0, le=1)
    withdraw_share: float = Field(ge=0, le=1)
    withdraw_days: tuple[int, int]


class Errors(_Model):
    check_character: float = Field(ge=0)
    transposition: float = Field(ge=0)
    name_variant: float = Field(ge=0)


class Scenario(_Model):
    """A whole scenario (see docs/simulate.md)."""

    name: str
    population: Population
    propensity: Propensity
    roles: Roles
    consent: Consent
    errors: Errors
    records: list[RecordRule]

    def digest(self) -> str:
        """A content hash identifying the scenario."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def check(self, catalog: Catalog) -> list[str]:
        """Problems of this scenario against a catalog (unknown types, sources, follow-ups,
        attributes or values)."""
        problems: list[str] = []
        seen: set[str] = set()
        for rule in self.records:
            where = f"records[{rule.type}]"
            rt = catalog.record_types.get(rule.type)
            if rule.type in seen:
                problems.append(f"{where}: the type appears twice")
            seen.add(rule.type)
            if rt is None:
                problems.append(f"{where}: type {rule.type} is not in the catalog")
                continue
            for source in rule.sources:
                if source not in rt.sources:
                    problems.append(f"{where}: source {source} may not submit {rule.type}")
            for kind in rule.rate:
                if kind not in rt.subjects:
                    problems.append(f"{where}: {rule.type} may not concern a {kind}")
            for name, dist in rule.attrs.items():
                spec = rt.attributes.get(name)
                if spec is None:
                    problems.append(f"{where}: attribute {name} is not declared for {rule.type}")
                elif dist.values is not None and spec.values is not None:
                    bad = [v for v in dist.values if str(v) not in {str(x) for x in spec.values}]
                    if bad:
                        problems.append(f"{where}: attribute {name} has values not in the catalog: {bad}")
            if rule.quantity is not None and rt.quantity == "forbidden":
                problems.append(f"{where}: {rule.type} takes no quantity")
            if rule.quantity is None and rt.quantity == "required":
                problems.append(f"{where}: {rule.type} needs a quantity")
            if rule.amount is not None and rt.amount == "forbidden":
                problems.append(f"{where}: {rule.type} takes no amount")
            actions = {
                "perform": rule.perform,
                "delist": rule.delist or rule.delist_after_perform,
                "extend": rule.extend,
                "repair": rule.repair,
            }
            for action, fu in actions.items():
                if fu is not None and action not in rt.follow_ups:
                    problems.append(f"{where}: {rule.type} has no {action} follow-up")
            if rule.delist_after_perform is not None and rule.perform is None:
                problems.append(f"{where}: delist_after_perform needs perform")
        for written in ("registry.role", catalog.points.consent_type if catalog.points else "consent.scoring"):
            if written not in catalog.record_types:
                problems.append(f"the catalog lacks {written}, which the simulator writes")
        return problems


def default_scenario_path() -> Path:
    """The packaged default scenario."""
    return Path(str(resources.files("socialcredit") / "sim" / "scenario.yaml"))


def load_scenario(path: Path | None = None) -> Scenario:
    """Load and validate a scenario file (the default when ``path`` is None)."""
    path = path or default_scenario_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: " + ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors()]
        raise ScenarioError("\n".join(lines)) from exc

"""The catalog: what may be recorded, by whom, with which legal basis, and what follows from it.

These pydantic models describe the YAML files of a catalog directory (see
``docs/catalog.md``). Shape errors are caught here; cross-references and the product rules
(prohibited categories, restrictions only from legal findings, bounded terms) are checked in
``catalog.validate``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialcredit.catalog.periods import Period

SubjectKind = Literal["person", "organisation"]
FollowUpAction = Literal["correct", "revoke", "perform", "delist", "extend", "repair"]
ACTIONS: tuple[str, ...] = ("create", "correct", "revoke", "perform", "delist", "extend", "repair")

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]


class Strict(BaseModel):
    """Base for catalog models: unknown keys are errors (a typo must not vanish)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(Strict):
    """A legal or policy document that items of the catalog cite."""

    title: str = Field(examples=["SPC Provisions on Publishing the List of Judgment Defaulters"])
    citation: str = Field(examples=["Fa Shi [2017] No. 7"])
    issuer: str | None = Field(default=None, examples=["Supreme People's Court"])
    effective: date | None = Field(default=None, examples=["2017-05-01"])
    url: str | None = Field(default=None, examples=["http://www.law-lib.com/law/law_view.asp?id=554546"])
    note: str | None = Field(default=None, examples=["Figures reported, not found in primary text"])


class Source(Strict):
    """An agency (or the subject itself) that may submit records."""

    name: str = Field(examples=["People's courts"])
    kind: Literal["judicial", "administrative", "public_service", "financial", "registry", "subject"]
    legal_basis: list[str] = Field(default_factory=list, examples=[["spc_defaulters_2017#Art. 7"]])


class Condition(Strict):
    """A test on one attribute value: membership, exclusion or presence."""

    in_: list[Any] | None = Field(default=None, alias="in", examples=[[2, 3, 4, 5, 6]])
    not_in: list[Any] | None = Field(default=None, examples=[[0]])
    present: bool | None = Field(default=None, examples=[True])

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if sum(x is not None for x in (self.in_, self.not_in, self.present)) != 1:
            raise ValueError("a condition needs exactly one of 'in', 'not_in', 'present'")
        return self


class AttributeSpec(Strict):
    """A type-specific attribute of a record (an extra CSV column, or a key of ``attrs``)."""

    type: Literal["integer", "number", "string", "enum", "date", "boolean", "identity", "list"]
    description: str = Field(default="", examples=["Ground of listing, SPC 2017 Art. 1 item"])
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, gt=0)
    values: list[str] | None = Field(default=None, examples=[["applicant", "court"]])
    identity_kind: SubjectKind | None = None
    items: Literal["string", "action_pattern", "enum"] | None = None
    category: str | None = Field(
        default=None, description="Kind of information the attribute holds", examples=["judicial"]
    )

    @model_validator(mode="after")
    def _shape(self) -> AttributeSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum attribute needs 'values'")
        if self.type == "list" and self.items is None:
            raise ValueError("a list attribute needs 'items' (string, action_pattern or enum)")
        if self.type == "list" and self.items == "enum" and not self.values:
            raise ValueError("a list of enum items needs 'values'")
        if self.type == "identity" and self.identity_kind is None:
            raise ValueError("an identity attribute needs 'identity_kind' (person/organisation)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.type not in ("integer", "number") and (self.min is not None or self.max is not None):
            raise ValueError("'min'/'max' apply only to integer and number attributes")
        return self


class Constraint(Strict):
    """A cross-attribute rule: when every ``when`` test holds, every ``then`` test must hold."""

    when: dict[str, Condition]
    then: dict[str, Condition]
    code: Code = Field(examples=["extension_not_allowed"])
    message: str = Field(examples=["extension_years applies only to grounds 2-6"])
    legal_basis: list[str] = Field(default_factory=list)


class Bar(Strict):
    """A rule that forbids a record outright (checked at ingest); ``rule`` names its kind.

    - ``min_age``: persons younger than ``years`` on ``decided_on`` may not be recorded;
    - ``relisting_after_deletion``: a new record ``when`` these attribute tests hold is barred
      for ``period`` after a ``delist`` of the same subject's record of this type whose
      ``reason`` is in ``reasons``;
    - ``repair_minimum``: a ``repair`` earlier than the minimum publication period of the
      record's severity (see ``publication``) is barred.
    """

    rule: Literal["min_age", "relisting_after_deletion", "repair_minimum"]
    years: int | None = Field(default=None, gt=0)
    period: Period | None = None
    when: dict[str, Condition] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    same_attribute: str | None = Field(
        default=None, description="Attribute that must also match (e.g. the case number)"
    )
    legal_basis: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _params(self) -> Bar:
        if self.rule == "min_age" and self.years is None:
            raise ValueError("a min_age bar needs 'years'")
        if self.rule == "relisting_after_deletion" and (self.period is None or not self.reasons):
            raise ValueError("a relisting_after_deletion bar needs 'period' and 'reasons'")
        return self


class FollowUp(Strict):
    """A non-create action allowed on records of a type, and the attributes it carries."""

    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)


class Publication(Strict):
    """How long a record is published: by severity under a regime, or with its list."""

    by: Literal["severity", "list", "none"] = "list"
    severity_attribute: str | None = Field(default=None, examples=["severity"])


class RecordType(Strict):
    """A kind of record that sources may submit."""

    name: str
    description: str = ""
    sources: list[str] = Field(min_length=1)
    subjects: list[SubjectKind] = Field(min_length=1)
    information: list[str] = Field(
        min_length=1,
        description="Categories of information the record holds",
        examples=[["judicial_enforcement"]],
    )
    negative: bool = Field(default=True, description="Negative information (retention-limited)")
    conduct_ends: Literal["decided_on", "performed"] = Field(
        default="decided_on",
        description="When the conduct ends, from which the retention limit runs: the finding "
        "itself (an act), or the performance of the obligation (arrears, judgments)",
    )
    consent: Literal["none", "written"] = "none"
    legal_basis: list[str] = Field(default_factory=list)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    follow_ups: dict[FollowUpAction, FollowUp] = Field(default_factory=dict)
    constraints: list[Constraint] = Field(default_factory=list)
    bars: list[Bar] = Field(default_factory=list)
    publication: Publication = Field(default_factory=Publication)
    quantity: Literal["forbidden", "optional", "required"] = "optional"
    amount: Literal["forbidden", "optional", "required"] = "optional"


class TermCase(Strict):
    """One case of a list's term: when it applies, when it starts and what ends it.

    ``start`` is when membership begins: the finding's date, or the end of a publication
    period of ``publication_working_days`` working days. ``duration`` (plus
    ``extension_attribute`` years, delayed by ``delay_attribute`` months) bounds it; ``ends_on``
    lists the follow-up events that end it earlier. ``until_performed`` ends it the day after a
    ``perform`` event. ``repeat`` handles repeat offences (railway items 4-6).
    """

    when: dict[str, Condition] = Field(default_factory=dict)
    start: Literal["decided_on", "publication_end"] = "decided_on"
    publication_working_days: int | None = Field(default=None, gt=0)
    duration: Period | None = None
    extension_attribute: str | None = None
    delay_attribute: str | None = None
    until_performed: bool = False
    ends_on: list[Literal["delist", "perform", "repair", "revoke"]] = Field(default_factory=list)
    repeat: RepeatRule | None = None
    legal_basis: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _start(self) -> TermCase:
        if self.start == "publication_end" and self.publication_working_days is None:
            raise ValueError("start 'publication_end' needs 'publication_working_days'")
        return self


class RepeatRule(Strict):
    """The ``count``-th offence within ``within`` of the first repayment lasts ``after_perform``
    past its repayment instead of ending the day after it."""

    count: int = Field(gt=1, examples=[4])
    within: Period
    after_perform: Period


class ListSpec(Strict):
    """A blacklist or redlist."""

    name: str
    description: str = ""
    kind: Literal["blacklist", "redlist"]
    basis: Literal["legal_finding", "grade"] = Field(
        description="Entered by a legal finding or decision, or by a points grade"
    )
    record_types: list[str] = Field(default_factory=list)
    grade: str | None = None
    requires_consent: bool = False
    subjects: list[SubjectKind] = Field(min_length=1)
    terms: list[TermCase] = Field(default_factory=list)
    published: bool = True
    legal_basis: list[str] = Field(default_factory=list)


class Measure(Strict):
    """A restriction or incentive, and the actions it governs."""

    name: str
    kind: Literal["restriction", "incentive"]
    actions: list[str] = Field(min_length=1, examples=[["flight.*", "rail.g.*"]])
    reaches_roles: list[str] = Field(default_factory=list, examples=[["legal_representative"]])
    role_type: str | None = Field(default=None, examples=["registry.role"])
    exemptions: list[str] = Field(default_factory=list, examples=[["court.consumption_exemption"]])
    legal_basis: list[str] = Field(default_factory=list)


class Memorandum(Strict):
    """A memorandum of understanding attaching measures to lists."""

    name: str
    lists: list[str] = Field(min_length=1)
    measures: list[str] = Field(min_length=1)
    effective_from: date
    effective_until: date | None = None
    legal_basis: list[str] = Field(default_factory=list)


class SeverityPeriods(Strict):
    """Minimum (before repair) and maximum publication periods for one severity."""

    published: bool = True
    minimum: Period
    maximum: Period


class Regime(Strict):
    """Publication and repair periods of administrative penalties for findings in a date range."""

    name: str
    effective_from: date | None = None
    effective_until: date | None = Field(default=None, description="Last day of findings covered")
    severities: dict[str, SeverityPeriods]
    legal_basis: list[str] = Field(default_factory=list)


class Grade(Strict):
    """A grade band of the points model (inclusive bounds; open at an end when null)."""

    grade: str
    min: int | None = None
    max: int | None = None


class PointsItem(Strict):
    """Points a record of one type gives: once, or per unit of ``quantity``."""

    points: int
    per: Literal["record", "quantity"] = "record"


class PointsModel(Strict):
    """An optional, consent-based local points model (Rongcheng style)."""

    name: str
    base: int
    consent_type: str
    positive_validity: Period
    grades: list[Grade] = Field(min_length=1)
    items: dict[str, PointsItem] = Field(default_factory=dict)
    legal_basis: list[str] = Field(default_factory=list)

    @field_validator("items", mode="before")
    @classmethod
    def _short_items(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"points": v} if isinstance(v, int) else v) for k, v in value.items()}
        return value


class Retention(Strict):
    """How long negative information may be shown or used after the conduct ended."""

    negative: Period
    legal_basis: list[str] = Field(default_factory=list)


class CatalogMeta(Strict):
    """Name and description of a catalog."""

    name: str
    description: str = ""
    jurisdiction: str = ""


class Catalog(Strict):
    """A whole catalog, as loaded from a directory of YAML files."""

    catalog: CatalogMeta
    legal_bases: dict[str, LegalBasis]
    sources: dict[str, Source]
    actions: dict[str, str] = Field(description="Every action relying parties may ask about")
    roles: dict[str, str] = Field(default_factory=dict)
    record_types: dict[str, RecordType]
    lists: dict[str, ListSpec] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    memoranda: dict[str, Memorandum] = Field(default_factory=dict)
    publication_regimes: dict[str, Regime] = Field(default_factory=dict)
    retention: Retention
    points: PointsModel | None = None

    def regime_for(self, decided_on: date) -> Regime | None:
        """The publication regime covering a finding made on ``decided_on``."""
        for regime in self.publication_regimes.values():
            if (regime.effective_from is None or regime.effective_from <= decided_on) and (
                regime.effective_until is None or decided_on <= regime.effective_until
            ):
                return regime
        return None


TermCase.model_rebuild()

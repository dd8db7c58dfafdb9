"""The wire models of the HTTP service, with examples (they make the OpenAPI page at /docs).

Answers of ``check`` and ``show`` are the ``--json`` contracts of the CLI (docs/cli.md); the
models describe them and are checked against them in the tests."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from socialcredit.ingest.report import IngestSummary

SUBJECT = "371082199003120244"
SUBJECT_ID_MAX = 64
"""Longest ``subject_id`` accepted in a path or an item (docs/api.md, Limits)."""
ACTION_MAX = 200
"""Longest ``action`` (and ``purpose``) accepted in a path, a query or an item."""
ORG = "91371082MA3C123459"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("a date must be YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date of a request: ``YYYY-MM-DD`` only, as the schema says (``format: date``), not the
numbers pydantic would otherwise read as Unix times."""


class LegalBasis(BaseModel):
    """A citation of a legal document."""

    ref: str = Field(examples=["spc_high_consumption_2015#Art. 3"])
    title: str | None = Field(examples=["SPC Several Provisions on Restricting High Consumption ..."])
    citation: str | None = Field(examples=["Fa Shi [2015] No. 17"])
    articles: str | None = Field(examples=["Art. 3"])
    url: str | None = Field(examples=["https://www.court.gov.cn/..."])


class RecordRef(BaseModel):
    """A record behind a listing or measure."""

    record_id: str | None = Field(examples=["C-2024-001"])
    type: str | None = Field(examples=["court.defaulter"])
    source: str | None = Field(default=None, examples=["court"])
    event_id: str | None = Field(default=None, examples=["C-2024-001"])
    document_no: str | None = Field(examples=["(2025)鲁1082执1234号之一"])
    decided_on: date | None = Field(examples=["2025-06-02"])


class Via(BaseModel):
    """How a measure reaches a person: a role in a listed organisation."""

    role: str = Field(examples=["legal_representative"])
    role_name: str | None = Field(examples=["Legal representative (法定代表人)"])
    organisation: str = Field(examples=[ORG])
    organisation_name: str | None = Field(examples=["荣成海洋食品有限公司"])
    record_id: str | None = Field(examples=["R-001"])
    document_no: str | None = Field(examples=["荣市监登字〔2019〕88号"])


class Exemption(BaseModel):
    """An exemption (e.g. a court's permission) lifting a restriction for some actions."""

    record_id: str = Field(examples=["C-2025-010"])
    type: str = Field(examples=["court.consumption_exemption"])
    document_no: str | None = Field(examples=["(2025)鲁1082执1234号之二"])
    decided_on: date | None = Field(examples=["2025-09-01"])
    valid_until: date | None = Field(examples=["2026-03-01"])
    actions: list[str] = Field(examples=[["rail.g.second"]])


class MeasureItem(BaseModel):
    """A restriction or incentive, with every reason: list, memorandum, records, legal basis, end."""

    measure: str = Field(examples=["high_consumption"])
    measure_name: str = Field(examples=["Restriction on high consumption"])
    kind: Literal["restriction", "incentive"] = Field(examples=["restriction"])
    actions: list[str] = Field(examples=[["flight.*", "rail.g.*"]], description="Action patterns the measure governs")
    list_: str = Field(alias="list", examples=["judgment_defaulters"])
    list_name: str | None = Field(examples=["List of judgment defaulters (失信被执行人名单)"])
    memorandum: str = Field(examples=["mou_2016_defaulters"])
    memorandum_name: str | None = Field(examples=["Joint punishment of judgment defaulters (44 bodies)"])
    via: Via | None = Field(examples=[None])
    since: date | None = Field(examples=["2025-08-02"])
    until: date | None = Field(examples=[None], description="First day without the measure; null: no end date yet")
    last_day: date | None = Field(examples=[None])
    until_rule: str | None = Field(examples=["until the obligation is performed (or the listing is deleted)"])
    legal_basis: list[LegalBasis]
    records: list[RecordRef]
    exemptions: list[Exemption] | None = Field(default=None, description="Only on lifted restrictions")


class CheckAnswer(BaseModel):
    """The ``check --json`` contract: may the subject do the action on the date, and why not."""

    subject: str = Field(examples=[SUBJECT])
    kind: Literal["person", "organisation"] = Field(examples=["person"])
    action: str = Field(examples=["flight.economy"])
    action_name: str = Field(examples=["Buy an economy-class flight ticket"])
    as_of: date = Field(examples=["2026-11-26"])
    known_at: str | None = Field(examples=[None])
    allowed: bool = Field(examples=[False])
    known: bool = Field(examples=[True], description="Whether the platform has anything on file about the subject")
    restrictions: list[MeasureItem] = Field(description="Restrictions covering the action")
    incentives: list[MeasureItem] = Field(description="Incentives granted for the action")
    lifted: list[MeasureItem] = Field(description="Restrictions an exemption lifts for the action")
    decision_id: str = Field(examples=["dec-18eb930c58a5025d-48a4e3ba"])
    party: str = Field(examples=["Shandong Airlines ticketing"], description="The asking party (the key's name)")
    catalog_version: str = Field(examples=["sha256:724aa52f6ce5..."])
    data_version: str = Field(examples=["21@2026-11-26"])


class CheckItem(BaseModel):
    """One question of a batch check."""

    subject_id: str = Field(examples=[SUBJECT], max_length=SUBJECT_ID_MAX)
    action: str = Field(examples=["flight.economy"], max_length=ACTION_MAX)


class CheckBatch(BaseModel):
    """Up to ``SOCIALCREDIT_MAX_BATCH_ITEMS`` questions, answered and logged together."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"subject_id": SUBJECT, "action": "flight.economy"},
                        {"subject_id": "110105199001010352", "action": "flight.business"},
                    ]
                }
            ]
        }
    )

    items: list[CheckItem] = Field(min_length=1)
    as_of: IsoDate | None = Field(default=None, examples=[None], description="Date of the actions (default: today)")


class ItemError(BaseModel):
    """An item of a batch that could not be answered (no decision was made or logged for it)."""

    index: int = Field(examples=[3], description="0-based position in `items`")
    subject_id: str = Field(examples=["37108219900312024X"])
    action: str = Field(examples=["flight.economy"])
    error: dict[str, Any] = Field(
        examples=[{"code": "invalid_subject_id", "message": "'37108219900312024X' is not a valid identity code"}]
    )


class CheckBatchAnswer(BaseModel):
    """One answer per item, in order: a decision (with its own id) or an item error."""

    count: int = Field(examples=[2])
    decisions: int = Field(examples=[2], description="Items answered (and logged)")
    results: list[CheckAnswer | ItemError]


class ListMembership(BaseModel):
    """A list the subject is on."""

    list_: str = Field(alias="list", examples=["judgment_defaulters"])
    list_name: str | None = Field(examples=["List of judgment defaulters (失信被执行人名单)"])
    since: date | None = Field(examples=["2025-08-02"])
    until: date | None = Field(examples=[None])
    until_rule: str | None = Field(examples=["until the obligation is performed"])
    published: bool = Field(examples=[True])
    records: list[RecordRef]


class Consent(BaseModel):
    """The consent to scoring behind a score."""

    record_id: str | None = Field(examples=["S-0001"])
    document_no: str | None = Field(examples=["同意书 2024-01-05"])
    since: date | None = Field(examples=["2024-01-05"])


class HistoryEvent(BaseModel):
    """An event of a record's history."""

    action: str = Field(examples=["create"])
    event_id: str = Field(examples=["C-2024-001"])
    decided_on: date | None = Field(examples=["2025-06-02"])
    document_no: str | None = Field(examples=["(2025)鲁1082执1234号之一"])


class RecordStatus(BaseModel):
    """A record of the subject's file and its status on the date."""

    record_id: str = Field(examples=["C-2024-002"])
    source: str = Field(examples=["court"])
    type: str = Field(examples=["court.defaulter"])
    status: str = Field(examples=["in_force"])
    decided_on: date | None = Field(examples=["2024-03-04"])
    document_no: str | None = Field(examples=["(2024)京0105执567号之一"])
    attrs: dict[str, Any] = Field(examples=[{"ground": 4}])
    performed_on: date | None = Field(examples=[None])
    deleted_on: date | None = Field(examples=[None])
    repaired_on: date | None = Field(examples=[None])
    revoked_on: date | None = Field(examples=[None])
    points: float | None = Field(examples=[None])
    points_until: date | None = Field(examples=[None])
    published_until: date | None = Field(examples=["2026-03-04"])
    retention_until: date | None = Field(examples=[None])
    history: list[HistoryEvent]


class Lookup(BaseModel):
    """A decision about the subject: when, by whom, for which action, with which answer."""

    decision_id: str = Field(examples=["dec-18eb930c58a5025d-48a4e3ba"])
    decided_at: datetime = Field(examples=["2026-11-26T09:12:03.120000+00:00"])
    party: str = Field(examples=["Shandong Airlines ticketing"])
    purpose: str | None = Field(examples=["flight.*"])
    action: str = Field(examples=["flight.economy"])
    allowed: bool = Field(examples=[False])
    as_of: date = Field(examples=["2026-11-26"])
    screen_id: str | None = Field(
        default=None, examples=[None], description="Set when the decision is a row of a screening"
    )


class SubjectFile(BaseModel):
    """The ``show --json`` contract plus ``lookups``: every decision about the subject."""

    subject: str = Field(examples=[SUBJECT])
    kind: Literal["person", "organisation"] = Field(examples=["person"])
    name: str | None = Field(examples=["王芳"])
    known: bool = Field(examples=[True])
    as_of: date = Field(examples=["2026-11-26"])
    known_at: str | None = Field(examples=[None])
    data_version: str = Field(examples=["21@2026-11-26"])
    catalog_version: str = Field(examples=["sha256:724aa52f6ce5..."])
    lists: list[ListMembership]
    restrictions: list[MeasureItem]
    incentives: list[MeasureItem]
    exemptions: list[Exemption]
    score: float | None = Field(examples=[1022.0])
    grade: str | None = Field(examples=["A"])
    consent: Consent | None
    records: list[RecordStatus]
    lookups: list[Lookup]


class RecordRow(BaseModel):
    """One event as an agency submits it (docs/record-format.md); checked as the CLI checks files."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "C-2026-0042",
                    "source": "court",
                    "subject_id": "110105199001010352",
                    "subject_name": "张伟",
                    "type": "court.defaulter",
                    "decided_on": "2026-03-04",
                    "document_no": "(2026)京0105执42号之一",
                    "amount": 52000,
                    "attrs": {"ground": 4, "case_no": "(2026)京0105执42号"},
                }
            ]
        },
    )

    event_id: Any = Field(default=None, examples=["C-2026-0042"])
    source: Any = Field(default=None, examples=["court"], description="Defaults to the key's source")
    subject_id: Any = Field(default=None, examples=["110105199001010352"])
    type: Any = Field(default=None, examples=["court.defaulter"])
    decided_on: Any = Field(default=None, examples=["2026-03-04"])


class RejectError(BaseModel):
    """Why a row was rejected (codes: docs/ingest.md)."""

    field: str | None = Field(examples=["subject_id"])
    code: str = Field(examples=["invalid_checksum"])
    message: str = Field(examples=["the check character should be 4"])


class RejectedRow(BaseModel):
    """A rejected row, inline."""

    index: int | None = Field(examples=[0], description="0-based position in the submitted array (null for a file)")
    line: int | None = Field(
        default=None, examples=[1], description="Line of the row in the submitted file (arrays: position + 1)"
    )
    event_id: str | None = Field(examples=["C-2026-0042"])
    errors: list[RejectError]
    row: dict[str, Any] = Field(examples=[{"event_id": "C-2026-0042", "subject_id": "110105199001010353"}])


class Submission(IngestSummary):
    """The ``ingest --json`` summary of one submission (one batch), with the rejected rows inline."""

    rejects: list[RejectedRow] = Field(default_factory=list)  # type: ignore[assignment]
    rejects_file: str | None = Field(default=None, examples=["court-20261126T091203Z.jsonl"])


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])


class Ready(BaseModel):
    """What the answers rest on: catalog and data versions, last derive, staleness."""

    status: Literal["ready"] = Field(examples=["ready"])
    catalog_name: str = Field(examples=["default"])
    catalog_version: str = Field(examples=["sha256:724aa52f6ce5..."])
    data_version: str | None = Field(examples=["21@2026-11-26"])
    derived_as_of: date | None = Field(examples=["2026-11-26"])
    derived_at: datetime | None = Field(examples=["2026-11-26T08:00:00+00:00"])
    today: date = Field(examples=["2026-11-26"])
    published_seq: int = Field(examples=[21], description="Last published event of the log")
    stale: bool = Field(examples=[False], description="Whether checks are answered by deriving on the fly")
    stale_reasons: list[str] = Field(examples=[[]])


class CatalogOut(BaseModel):
    """The active catalog: record types, lists, measures, memoranda, actions, legal bases."""

    name: str = Field(examples=["default"])
    version: str = Field(examples=["sha256:724aa52f6ce5..."])
    catalog: dict[str, Any] = Field(examples=[{"actions": {"flight.economy": "Buy an economy-class flight ticket"}}])


class PublicRecord(BaseModel):
    """A record behind a public listing: its kind, document number and date."""

    type: str | None = Field(examples=["court.defaulter"])
    type_name: str | None = Field(examples=["Judgment defaulter finding (失信被执行人)"])
    document_no: str | None = Field(examples=["(2025)鲁1082执1234号之一"])
    decided_on: date | None = Field(examples=["2025-06-02"])


class PublicEntry(BaseModel):
    """A published entry of a list; a person's identity number is masked (birth date hidden)."""

    subject: str = Field(examples=["371082********0244"])
    kind: Literal["person", "organisation"] = Field(examples=["person"])
    name: str | None = Field(examples=["王芳"])
    since: date | None = Field(examples=["2025-08-02"])
    until: date | None = Field(examples=[None], description="First day off the list; null: no end date yet")
    records: list[PublicRecord]


class PublicList(BaseModel):
    """One page of a published list, on the date of the stored derive."""

    list_: str = Field(alias="list", examples=["judgment_defaulters"])
    list_name: str = Field(examples=["List of judgment defaulters (失信被执行人名单)"])
    as_of: date = Field(examples=["2026-11-26"], description="The date the entries hold for (the last derive)")
    data_version: str = Field(examples=["21@2026-11-26"])
    stale: bool = Field(examples=[False], description="True when the last derive is not for today")
    q: str | None = Field(examples=["海洋"], description="The search text, if any")
    total: int = Field(examples=[1], description="Matching entries on all pages")
    page: int = Field(examples=[1])
    page_size: int = Field(examples=[50])
    pages: int = Field(examples=[1])
    entries: list[PublicEntry]


class ScreeningJob(BaseModel):
    """A screening job: what is screened, for whom, how far it is, and its counts when done."""

    job_id: str = Field(examples=["job-3f9c2a61b0d4"])
    status: Literal["queued", "running", "done", "failed"] = Field(examples=["done"])
    stage: Literal["queued", "answering", "explaining", "logging", "done", "failed"] = Field(
        examples=["done"], description="Step of the job: answering the codes, adding reasons, logging every row"
    )
    progress: float = Field(examples=[1.0], ge=0, le=1, description="Share of the work done (by stage)")
    ahead: int | None = Field(examples=[None], description="Queued jobs: jobs to run before this one")
    party: str = Field(examples=["Rongcheng Air ticketing"])
    purpose: str | None = Field(examples=["flight.*"])
    action: str = Field(examples=["flight.economy"])
    as_of: date | None = Field(examples=[None], description="Date screened for (null: today when the job runs)")
    file: str = Field(examples=["passengers-2026-11-26.csv"])
    rows: int = Field(examples=[25000], description="Codes in the file")
    created_at: datetime = Field(examples=["2026-11-26T09:12:03.120000+00:00"])
    started_at: datetime | None = Field(examples=["2026-11-26T09:12:03.180000+00:00"])
    finished_at: datetime | None = Field(examples=["2026-11-26T09:12:04.020000+00:00"])
    screen_id: str | None = Field(
        examples=["scr-51b2c0a9e7d1"], description="Screening log id; row k's decision id is `<screen_id>:<k>`"
    )
    allowed: int | None = Field(examples=[24858], description="Rows with a valid code allowed the action")
    restricted: int | None = Field(examples=[130], description="Rows with a valid code restricted from the action")
    invalid: int | None = Field(
        examples=[12], description="Rows whose code is not a valid identity code (no answer is guessed for them)"
    )
    error: str | None = Field(examples=[None], description="Why a failed job failed")
    result: str | None = Field(
        examples=["/api/v1/screenings/job-3f9c2a61b0d4/result"], description="Where the result is, once done"
    )

"""The numbers behind the report, computed from the store (a derivation on the report date),
the rejects files of the ingest runs and, for a simulated city, its ground truth."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field

from socialcredit.derive import Deriver
from socialcredit.store.duckdb_store import DuckDBStore

# the attribute that says why a record entered each list (for "top reasons")
REASON_ATTRIBUTES = {
    "judgment_defaulters": "ground",
    "railway_restricted": "item",
    "severe_untrustworthy": "category",
}


# what each value of those attributes means (SPC 2017 Art. 1; the 2018 railway opinion, category 1)
REASON_LABELS = {
    ("judgment_defaulters", "1"): "able to perform but refuses",
    ("judgment_defaulters", "2"): "obstructs enforcement (false evidence, violence, threats)",
    ("judgment_defaulters", "3"): "evades enforcement (sham suits, hidden assets)",
    ("judgment_defaulters", "4"): "breaches the asset-reporting duty",
    ("judgment_defaulters", "5"): "breaches a consumption restriction order",
    ("judgment_defaulters", "6"): "refuses a settlement agreement",
    ("railway_restricted", "1"): "disturbing order on trains or in stations",
    ("railway_restricted", "2"): "smoking on a bullet train",
    ("railway_restricted", "3"): "reselling or forging tickets",
    ("railway_restricted", "4"): "misusing a discount ID",
    ("railway_restricted", "5"): "riding with a forged or invalid ticket",
    ("railway_restricted", "6"): "riding without a ticket, refusing to pay",
    ("railway_restricted", "7"): "other act under administrative penalty",
}


class WrongPerson(BaseModel):
    """Harm from injected transpositions: records accepted against another person than the one
    who did it, and what they caused on the report date."""

    injected: int = Field(description="transposed identity numbers in the agency files")
    accepted: int = Field(description="of those, rows accepted (they pass every check)")
    listed_subjects: int = Field(description="innocent subjects on a list only because of them")
    memberships: int
    restricted_subjects: int = Field(description="innocent subjects under a restriction only because of them")
    restrictions: int = Field(description="restriction measures in force only because of them")
    scored_subjects: int = Field(description="consenting innocent subjects whose score they lower")
    subjects: list[str] = Field(default_factory=list, description="the innocent restricted subjects")


class ReportData(BaseModel):
    """Everything the report shows (also written as ``report.json``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-26",
                    "data_version": "1500000@2026-11-26",
                    "headline": {"persons": 700000, "organisations": 42000},
                }
            ]
        }
    )
    as_of: date
    period_start: date
    data_version: str
    catalog_version: str
    headline: dict[str, int | float | str]
    list_sizes: dict[str, int]
    list_sizes_monthly: dict[str, list[tuple[date, int]]]
    new_restrictions_monthly: dict[str, list[tuple[date, int]]]
    restrictions_by_measure: dict[str, dict[str, int]]
    incentives_by_measure: dict[str, int]
    scores: list[float]
    grades: dict[str, int]
    top_reasons: list[tuple[str, int]]
    rejects_by_reason: dict[str, int]
    rejects_files: list[str]
    wrong_person: WrongPerson | None = None


def _rows(store: DuckDBStore, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return store.con.execute(sql, params or []).fetchall()


def _month_ends(start: date, end: date) -> list[date]:
    out = []
    d = date(start.year, start.month, 1) + relativedelta(months=1, days=-1)
    while d <= end:
        out.append(d)
        d = date(d.year, d.month, 1) + relativedelta(months=2, days=-1)
    if not out or out[-1] != end:
        out.append(end)
    return out


def _rejects(store: DuckDBStore) -> tuple[dict[str, int], list[str]]:
    """Rejected rows by error code, from the rejects files the ingest runs wrote (each file
    once; a row with several errors counts under each)."""
    paths = [r[0] for r in _rows(store, "SELECT DISTINCT rejects_path FROM ingest_runs WHERE rejected > 0")]
    counts: Counter[str] = Counter()
    found = []
    for p in paths:
        if not p or not Path(p).exists():
            continue
        found.append(p)
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                for e in json.loads(line).get("errors", []):
                    counts[e["code"]] += 1
    missing = sum(1 for p in paths if p and not Path(p).exists())
    if missing:
        counts["(rejects file missing)"] += missing
    return dict(counts.most_common()), found


def _wrong_person(store: DuckDBStore, truth: Path) -> WrongPerson:
    con = store.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tr AS SELECT source, event_id, written_subject_id FROM read_parquet(?) "
        "WHERE error = 'transposition'",
        [str(truth)],
    )
    injected = _rows(store, "SELECT count(*) FROM tr")[0][0]
    accepted = _rows(store, "SELECT count(*) FROM events e JOIN tr USING (source, event_id)")[0][0]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE wrongful AS
        SELECT subject_id, list FROM memb_rec_all r
        LEFT JOIN tr ON tr.source = r.source AND tr.event_id = r.record_id
        GROUP BY subject_id, list
        HAVING bool_and(tr.event_id IS NOT NULL)
        """
    )
    memberships = _rows(store, "SELECT count(*), count(DISTINCT subject_id) FROM wrongful")[0]
    restr = _rows(
        store,
        "SELECT count(*), count(DISTINCT m.subject_id) FROM measures m JOIN wrongful w USING (subject_id, list) "
        "WHERE m.kind = 'restriction' AND m.via_role IS NULL",
    )[0]
    subjects = [
        r[0]
        for r in _rows(
            store,
            "SELECT DISTINCT m.subject_id FROM measures m JOIN wrongful w USING (subject_id, list) "
            "WHERE m.kind = 'restriction' AND m.via_role IS NULL ORDER BY 1",
        )
    ]
    scored = _rows(
        store,
        "SELECT count(DISTINCT r.subject_id) FROM rw r JOIN tr ON tr.source = r.source AND tr.event_id = r.record_id "
        "JOIN scores s ON s.subject_id = r.subject_id WHERE r.points < 0",
    )[0][0]
    con.execute("DROP TABLE IF EXISTS wrongful")
    con.execute("DROP TABLE IF EXISTS tr")
    return WrongPerson(
        injected=injected,
        accepted=accepted,
        listed_subjects=memberships[1],
        memberships=memberships[0],
        restricted_subjects=restr[1],
        restrictions=restr[0],
        scored_subjects=scored,
        subjects=subjects,
    )


def collect(store: DuckDBStore, as_of: date, truth: Path | None = None, period_start: date | None = None) -> ReportData:
    """Derive on ``as_of`` and gather the report's numbers."""
    deriver = Deriver(store)
    catalog = deriver.catalog
    mark = store.published_seq()
    with deriver.snapshot(as_of):
        kinds = dict(_rows(store, "SELECT kind, count(*) FROM subjects GROUP BY kind"))
        records = _rows(
            store, f"SELECT count(*) FILTER (WHERE action = 'create'), count(*) FROM events WHERE seq <= {mark}"
        )[0]
        first = _rows(store, "SELECT min(decided_on) FROM events WHERE type <> 'registry.role'")[0][0]
        start = period_start or max(first or as_of, as_of - relativedelta(years=10))
        list_sizes = dict(_rows(store, "SELECT list, count(*) FROM memb_all GROUP BY list ORDER BY 2 DESC"))
        months = _month_ends(start, as_of)
        store.con.execute("CREATE OR REPLACE TEMP TABLE rep_months (d DATE)")
        store.con.executemany("INSERT INTO rep_months VALUES (?)", [[m] for m in months])
        monthly: dict[str, list[tuple[date, int]]] = {}
        for lst, d, n in _rows(
            store,
            "SELECT w.list, m.d, count(DISTINCT w.subject_id) FROM rep_months m JOIN win w "
            "ON w.start <= m.d AND (w.until IS NULL OR m.d < w.until) GROUP BY ALL ORDER BY 1, 2",
        ):
            monthly.setdefault(lst, []).append((d, n))
        starts: dict[str, dict[date, int]] = {}
        for lst, d, n in _rows(
            store,
            "SELECT list, CAST(date_trunc('month', start) AS DATE), count(*) FROM win "
            "WHERE start >= ? AND start <= ? GROUP BY ALL",
            [start, as_of],
        ):
            starts.setdefault(lst, {})[d] = n
        month_starts = [date(m.year, m.month, 1) for m in months]
        new_restr: dict[str, list[tuple[date, int]]] = {}
        for mou in catalog.memoranda.values():
            for meas in mou.measures:
                if catalog.measures[meas].kind != "restriction":
                    continue
                series = dict(new_restr.get(meas, [(m, 0) for m in month_starts]))
                for lst in mou.lists:
                    for m, n in starts.get(lst, {}).items():
                        if m in series:
                            series[m] += n
                new_restr[meas] = sorted(series.items())
        by_measure: dict[str, dict[str, int]] = {}
        for meas, direct, via in _rows(
            store,
            "SELECT measure, count(*) FILTER (WHERE via_role IS NULL), count(*) FILTER (WHERE via_role IS NOT NULL) "
            "FROM measures WHERE kind = 'restriction' GROUP BY 1 ORDER BY 2 + 3 DESC",
        ):
            by_measure[meas] = {"direct": direct, "via_role": via}
        incentives = dict(
            _rows(store, "SELECT measure, count(*) FROM measures WHERE kind = 'incentive' GROUP BY 1 ORDER BY 2 DESC")
        )
        has_scores = bool(_rows(store, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scores'")[0][0])
        scores = [float(r[0]) for r in _rows(store, "SELECT score FROM scores ORDER BY 1")] if has_scores else []
        grades = dict(_rows(store, "SELECT grade, count(*) FROM scores GROUP BY 1 ORDER BY 1")) if has_scores else {}
        reasons = _rows(
            store,
            """
            SELECT r.list, json_extract_string(e.attrs, '$.' || a.attr) AS why, count(*)
            FROM memb_rec_all r
            JOIN (SELECT * FROM (VALUES """
            + ", ".join(f"('{k}', '{v}')" for k, v in REASON_ATTRIBUTES.items())
            + """) t(list, attr)) a ON a.list = r.list
            JOIN events e ON e.source = r.source AND e.event_id = r.record_id AND e.action = 'create'
            GROUP BY ALL ORDER BY 3 DESC LIMIT 12
            """,
        )
        top = [
            (
                f"{lst}: {REASON_ATTRIBUTES[lst]} {why}"
                + (f" ({REASON_LABELS[lst, why]})" if (lst, why) in REASON_LABELS else ""),
                n,
            )
            for lst, why, n in reasons
        ]
        wrong = _wrong_person(store, truth) if truth is not None and truth.exists() else None
        listed = _rows(store, "SELECT count(DISTINCT subject_id) FROM memb_all")[0][0]
        restricted = _rows(store, "SELECT count(DISTINCT subject_id) FROM measures WHERE kind = 'restriction'")[0][0]
        rewarded = _rows(store, "SELECT count(DISTINCT subject_id) FROM measures WHERE kind = 'incentive'")[0][0]
        store.con.execute("DROP TABLE IF EXISTS rep_months")
    rejects, files = _rejects(store)
    runs = _rows(store, "SELECT coalesce(sum(rows_read), 0), coalesce(sum(rejected), 0) FROM ingest_runs")[0]
    headline: dict[str, int | float | str] = {
        "persons": int(kinds.get("person", 0)),
        "organisations": int(kinds.get("organisation", 0)),
        "records": int(records[0]),
        "events": int(records[1]),
        "rows_read": int(runs[0]),
        "rows_rejected": int(runs[1]),
        "subjects_listed": int(listed),
        "subjects_restricted": int(restricted),
        "subjects_with_incentives": int(rewarded),
        "consenting_scored": len(scores),
    }
    if wrong is not None:
        headline["wrong_person_restricted"] = wrong.restricted_subjects
    return ReportData(
        as_of=as_of,
        period_start=start,
        data_version=f"{mark}@{as_of}",
        catalog_version=deriver.catalog_version,
        headline=headline,
        list_sizes={k: int(v) for k, v in list_sizes.items()},
        list_sizes_monthly=monthly,
        new_restrictions_monthly=new_restr,
        restrictions_by_measure=by_measure,
        incentives_by_measure={k: int(v) for k, v in incentives.items()},
        scores=scores,
        grades={str(k): int(v) for k, v in grades.items()},
        top_reasons=top,
        rejects_by_reason=rejects,
        rejects_files=files,
        wrong_person=wrong,
    )

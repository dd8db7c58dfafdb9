"""A small, plainly written Python model of the derivation rules, used to test the SQL engine
(differential testing). It reads the catalog as data and applies the rules record by record,
with none of the engine's code: only the working-day calendar and period arithmetic are shared.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from socialcredit.calendar import nth_workday
from socialcredit.catalog.models import Catalog, Condition, TermCase
from socialcredit.catalog.periods import Period


@dataclass
class Record:
    source: str
    record_id: str
    type: str
    subject_id: str
    subject_kind: str
    create_seq: int
    decided_on: date
    attrs: dict[str, Any]
    amount: float | None = None
    quantity: float | None = None
    revoked_on: date | None = None
    performed_on: date | None = None
    delisted_on: date | None = None
    repaired_on: date | None = None
    extended: list[tuple[int, Any]] = field(default_factory=list)


def _min(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def _holds(cond: Condition, value: Any) -> bool:
    if cond.present is not None:
        return (value is not None) == cond.present
    items = cond.in_ if cond.in_ is not None else cond.not_in
    assert items is not None
    inside = value in items
    return inside if cond.in_ is not None else not inside


def records(events: list[dict[str, Any]], as_of: date) -> list[Record]:
    """Record states from the events decided on or before ``as_of``, in log order; a revocation
    counts whenever it was decided (it voids the record from the start)."""
    by_key: dict[tuple[str, str], Record] = {}
    for e in sorted(events, key=lambda e: e["seq"]):
        if e["decided_on"] > as_of and e["action"] != "revoke":
            continue
        key = (e["source"], e["record_id"])
        attrs = json.loads(e["attrs"]) if e["attrs"] else {}
        if e["action"] == "create":
            if key not in by_key:
                by_key[key] = Record(
                    e["source"],
                    e["record_id"],
                    e["type"],
                    e["subject_id"],
                    e["subject_kind"],
                    e["seq"],
                    e["decided_on"],
                    dict(attrs),
                    e["amount"],
                    e["quantity"],
                )
            continue
        rec = by_key.get(key)
        if rec is None:
            continue  # a follow-up before its record is valid: the record is not there yet
        day = e["decided_on"]
        if e["action"] == "correct":
            rec.attrs.update({k: v for k, v in attrs.items() if v is not None})
            rec.amount = e["amount"] if e["amount"] is not None else rec.amount
            rec.quantity = e["quantity"] if e["quantity"] is not None else rec.quantity
        elif e["action"] == "extend":
            rec.extended.append((e["seq"], attrs.get("extension_years")))
        elif e["action"] == "revoke":
            rec.revoked_on = _min(rec.revoked_on, day)
        elif e["action"] == "perform":
            rec.performed_on = _min(rec.performed_on, day)
        elif e["action"] == "delist":
            rec.delisted_on = _min(rec.delisted_on, day)
        elif e["action"] == "repair":
            rec.repaired_on = _min(rec.repaired_on, day)
    out = []
    for rec in by_key.values():
        if rec.extended:
            rec.attrs["extension_years"] = max(rec.extended)[1]
        if rec.revoked_on is None:
            out.append(rec)
    return out


def retention_until(cat: Catalog, rec: Record) -> date | None:
    rt = cat.record_types[rec.type]
    if not rt.negative:
        return None
    ended = rec.performed_on if rt.conduct_ends == "performed" else rec.decided_on
    return cat.retention.negative.add_to(ended) if ended else None


def publication_max(cat: Catalog, rec: Record) -> date | None:
    rt = cat.record_types[rec.type]
    if rt.publication.by != "severity" or rt.publication.severity_attribute is None:
        return None
    regime = cat.regime_for(rec.decided_on)
    if regime is None:
        return None
    periods = regime.severities.get(str(rec.attrs.get(rt.publication.severity_attribute)))
    if periods is None:
        return None
    if not periods.published and rec.attrs.get("published") is not True:
        return None
    return periods.maximum.add_to(rec.decided_on)


def points_of(cat: Catalog, rec: Record) -> tuple[float, date | None] | None:
    pm = cat.points
    if pm is None or rec.type not in pm.items:
        return None
    item = pm.items[rec.type]
    value = float(item.points) * (rec.quantity or 1 if item.per == "quantity" else 1)
    if value >= 0:
        return value, pm.positive_validity.add_to(rec.decided_on)
    keep = retention_until(cat, rec)
    if cat.record_types[rec.type].publication.by == "severity":
        until = _min(publication_max(cat, rec) or rec.decided_on, rec.repaired_on, rec.delisted_on, keep)
    else:
        until = _min(keep, rec.repaired_on, rec.delisted_on)
    return value, until


def _case(cat: Catalog, list_code: str, rec: Record) -> tuple[int, TermCase] | None:
    for i, term in enumerate(cat.lists[list_code].terms):
        if all(_holds(c, rec.attrs.get(n)) for n, c in term.when.items()):
            return i, term
    return None


def windows(cat: Catalog, recs: list[Record]) -> list[tuple[str, str, date, date | None, Record]]:
    """(subject, list, start, until, record) of every record in a legal-finding list."""
    entries: list[tuple[str, int, TermCase, Record]] = []
    for code, lst in cat.lists.items():
        if lst.basis != "legal_finding":
            continue
        for rec in recs:
            if rec.type in lst.record_types:
                found = _case(cat, code, rec)
                if found is not None:
                    entries.append((code, found[0], found[1], rec))
    out = []
    for code, index, term, rec in entries:
        base = rec.decided_on
        if term.delay_attribute:
            base = Period(0, int(rec.attrs.get(term.delay_attribute) or 0)).add_to(base)
        if term.start == "publication_end":
            start = nth_workday(base, term.publication_working_days or 1) + timedelta(days=1)
            term_from = start
        else:
            start, term_from = base, rec.decided_on
        ends: list[date | None] = [retention_until(cat, rec)]
        if term.duration is not None:
            ext = int(rec.attrs.get(term.extension_attribute) or 0) if term.extension_attribute else 0
            ends.append(Period(term.duration.years + ext, term.duration.months, term.duration.days).add_to(term_from))
        for action in term.ends_on:
            ends.append({"delist": rec.delisted_on, "perform": rec.performed_on, "repair": rec.repaired_on}.get(action))
        if term.until_performed and rec.performed_on is not None:
            after = rec.performed_on + timedelta(days=1)
            if term.repeat is not None:
                same = [r for c, i, _, r in entries if c == code and i == index and r.subject_id == rec.subject_id]
                if offence_number(same, rec, term) >= term.repeat.count:
                    after = term.repeat.after_perform.add_to(rec.performed_on)
            ends.append(after)
        until = _min(*ends)
        if until is None or start < until:
            out.append((rec.subject_id, code, start, until, rec))
    return out


def offence_number(same: list[Record], rec: Record, term: TermCase) -> int:
    assert term.repeat is not None
    order = sorted(same, key=lambda r: (r.decided_on, r.create_seq))
    earlier = [r for r in order if (r.decided_on, r.create_seq) < (rec.decided_on, rec.create_seq)]
    limit = term.repeat.within.add_to(rec.decided_on, times=-1)
    repaid = [r for r in earlier if r.performed_on is not None and r.performed_on >= limit]
    first = min((r.decided_on for r in repaid), default=rec.decided_on)
    return sum(
        1 for r in order if r.decided_on >= first and (r.decided_on, r.create_seq) <= (rec.decided_on, rec.create_seq)
    )


def derive(cat: Catalog, events: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    """Memberships, measures, scores and exemptions of every subject on ``as_of``."""
    recs = records(events, as_of)
    active: dict[tuple[str, str], list[tuple[date, date | None]]] = defaultdict(list)
    for subject, code, start, until, _ in windows(cat, recs):
        if start <= as_of and (until is None or as_of < until):
            active[(subject, code)].append((start, until))
    memberships = {
        (s, c): (min(w[0] for w in ws), None if any(w[1] is None for w in ws) else max(w[1] for w in ws if w[1]))
        for (s, c), ws in active.items()
    }
    scores: dict[str, tuple[float, str | None]] = {}
    pm = cat.points
    if pm is not None:
        consenting = {
            r.subject_id for r in recs if r.type == pm.consent_type and (r.delisted_on is None or r.delisted_on > as_of)
        }
        for subject in consenting:
            total = float(pm.base)
            for r in recs:
                if r.subject_id != subject:
                    continue
                pts = points_of(cat, r)
                if pts is not None and (pts[1] is None or as_of < pts[1]):
                    total += pts[0]
            grade = next(
                g.grade for g in pm.grades if (g.min is None or total >= g.min) and (g.max is None or total <= g.max)
            )
            scores[subject] = (total, grade)
        for code, lst in cat.lists.items():
            if lst.basis == "grade":
                for subject, (_, grade_of) in scores.items():
                    if grade_of == lst.grade:
                        memberships[(subject, code)] = (None, None)  # type: ignore[assignment]
    measures: set[tuple[Any, ...]] = set()
    for code, mou in cat.memoranda.items():
        if mou.effective_from > as_of or (mou.effective_until is not None and mou.effective_until < as_of):
            continue
        for (subject, lst_code), (_, until) in memberships.items():
            if lst_code in mou.lists:
                for m in mou.measures:
                    measures.add((subject, m, lst_code, code, None, None, until))
    roles = [
        (r.subject_id, r.attrs.get("person_id"), r.attrs.get("role"))
        for r in recs
        if any(m.role_type == r.type for m in cat.measures.values())
        and (r.delisted_on is None or r.delisted_on > as_of)
    ]
    for subject, m, lst_code, code, _, _, until in list(measures):
        for org, person, role in roles:
            if org == subject and role in cat.measures[m].reaches_roles:
                measures.add((person, m, lst_code, code, org, role, until))
    exemption_types = {t for m in cat.measures.values() for t in m.exemptions}
    exemptions = {
        (r.subject_id, r.record_id)
        for r in recs
        if r.type in exemption_types
        and (r.attrs.get("valid_until") is None or date.fromisoformat(r.attrs["valid_until"]) >= as_of)
    }
    return {"memberships": memberships, "measures": measures, "scores": scores, "exemptions": exemptions}

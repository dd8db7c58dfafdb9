"""Turning derived rows into the answers of ``show`` and ``check`` (the ``--json`` contract of
DESIGN §7, extended): every restriction and incentive with its measure, list, memorandum,
legal basis, the records behind it, ``via`` (role and organisation) and ``until``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from socialcredit.catalog.actions import expand, matches
from socialcredit.catalog.models import Catalog


def legal_basis(catalog: Catalog, refs: list[str]) -> list[dict[str, Any]]:
    """Citations resolved to their documents (duplicates removed, order kept)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ref in refs:
        if ref in seen:
            continue
        seen.add(ref)
        doc_id, _, articles = ref.partition("#")
        doc = catalog.legal_bases.get(doc_id.strip())
        out.append(
            {
                "ref": ref,
                "title": doc.title if doc else None,
                "citation": doc.citation if doc else None,
                "articles": articles.strip() or None,
                "url": doc.url if doc else None,
            }
        )
    return out


def _records(value: Any) -> list[dict[str, Any]]:
    rows = json.loads(value) if isinstance(value, str) else list(value or [])
    return [
        {
            "record_id": r.get("record_id"),
            "type": r.get("type"),
            "source": r.get("source"),
            "event_id": r.get("event_id"),
            "document_no": r.get("document_no"),
            "decided_on": str(r["decided_on"]) if r.get("decided_on") else None,
        }
        for r in rows
    ]


def _since(value: Any) -> str | None:
    rows = json.loads(value) if isinstance(value, str) else list(value or [])
    starts = [str(r["start"]) for r in rows if r.get("start")]
    return min(starts) if starts else None


def _day(value: Any) -> str | None:
    return str(value) if value is not None else None


def until_rule(catalog: Catalog, list_code: str) -> str:
    """In words, how a membership with no known end ends."""
    lst = catalog.lists.get(list_code)
    if lst is None:
        return "no end date known yet"
    if lst.basis == "grade":
        return "while the grade and the consent to scoring last (re-evaluated every day)"
    ends = {e for t in lst.terms for e in t.ends_on}
    if any(t.until_performed for t in lst.terms) or "perform" in ends:
        return "until the obligation is performed (or the listing is deleted or revoked)"
    return "until the listing is deleted or revoked"


def measure_item(catalog: Catalog, row: dict[str, Any], exempt: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A restriction or incentive, fully explained."""
    measure = catalog.measures[row["measure"]]
    lst = catalog.lists.get(row["list"])
    mou = catalog.memoranda.get(row["memorandum"])
    refs = list(measure.legal_basis) + (list(mou.legal_basis) if mou else []) + (list(lst.legal_basis) if lst else [])
    until = row.get("until")
    via = None
    if row.get("via_role"):
        via = {
            "role": row["via_role"],
            "role_name": catalog.roles.get(row["via_role"]),
            "organisation": row["via_organisation"],
            "organisation_name": row.get("via_organisation_name"),
            "record_id": row.get("via_record"),
            "document_no": row.get("via_document"),
        }
    item: dict[str, Any] = {
        "measure": row["measure"],
        "measure_name": measure.name,
        "kind": measure.kind,
        "actions": list(measure.actions),
        "list": row["list"],
        "list_name": lst.name if lst else None,
        "memorandum": row["memorandum"],
        "memorandum_name": mou.name if mou else None,
        "via": via,
        "since": _since(row.get("records")),
        "until": _day(until),
        "last_day": _day(until - timedelta(days=1)) if isinstance(until, date) else None,
        "until_rule": None if until is not None else until_rule(catalog, row["list"]),
        "legal_basis": legal_basis(catalog, refs),
        "records": _records(row.get("records")),
    }
    if exempt:
        item["exemptions"] = exempt
    return item


def exemptions_for(
    catalog: Catalog, measure: str, action: str | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The subject's exemptions that lift ``action`` (or any action, when None) from ``measure``."""
    types = set(catalog.measures[measure].exemptions)
    out = []
    for r in rows:
        if r["type"] not in types:
            continue
        patterns = r["actions"] if isinstance(r["actions"], list) else json.loads(r["actions"] or "[]")
        if action is None or any(matches(p, action) for p in patterns):
            out.append(
                {
                    "record_id": r["record_id"],
                    "type": r["type"],
                    "document_no": r.get("document_no"),
                    "decided_on": _day(r.get("decided_on")),
                    "valid_until": _day(r.get("valid_until")),
                    "actions": patterns,
                }
            )
    return out


def covers(catalog: Catalog, measure: str, action: str) -> bool:
    """Whether a measure governs an action."""
    return any(matches(p, action) for p in catalog.measures[measure].actions)


def covering(catalog: Catalog, action: str) -> frozenset[str]:
    """The measures that govern an action."""
    return frozenset(m for m in catalog.measures if covers(catalog, m, action))


def decide(
    catalog: Catalog,
    action: str,
    measures: list[dict[str, Any]],
    exemptions: list[dict[str, Any]],
    governing: frozenset[str] | None = None,
    explained: dict[int, dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(restrictions that apply to the action, incentives granted for it, restrictions lifted by
    an exemption) from a subject's derived measures and exemptions; ``governing`` (the measures
    governing the action, from ``covering``) saves matching patterns again. With ``explained``
    (kept by the caller for as long as the rows live), the explanation of a measure row without
    exemptions is built once and shared by every answer that includes it: such answers are
    read-only."""
    restrictions: list[dict[str, Any]] = []
    incentives: list[dict[str, Any]] = []
    lifted: list[dict[str, Any]] = []
    if not measures:
        return restrictions, incentives, lifted
    governs = governing if governing is not None else covering(catalog, action)
    for row in measures:
        if row["measure"] not in governs:
            continue
        exempt = exemptions_for(catalog, row["measure"], action, exemptions) if row["kind"] != "incentive" else []
        if exempt:
            lifted.append(measure_item(catalog, row, exempt))
            continue
        item = explained.get(id(row)) if explained is not None else None
        if item is None:
            item = measure_item(catalog, row)
            if explained is not None:
                explained[id(row)] = item
        (incentives if row["kind"] == "incentive" else restrictions).append(item)
    return restrictions, incentives, lifted


def actions_of(catalog: Catalog, measure: str) -> list[str]:
    """Every catalogued action a measure governs."""
    return expand(catalog.measures[measure].actions, catalog.actions)

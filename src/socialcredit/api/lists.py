"""Public lists: the published entries of a list on the stored derive's date, masked (DESIGN §4),
a page at a time, searchable by name or code.

Search rules keep masking meaningful: a person is found by the full identity number only (a
prefix would reveal birth dates one digit at a time); an organisation by its code or any prefix
of at least 4 characters (registrations are public); anybody by a part of the name."""

from __future__ import annotations

import re
from typing import Any

from socialcredit.catalog.models import Catalog
from socialcredit.decide import DecisionError
from socialcredit.decide.service import canonical
from socialcredit.derive.sql import records_list
from socialcredit.identity.masking import mask
from socialcredit.store.duckdb_store import DuckDBStore

_ORG_PREFIX = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{4,17}$")


def published_lists(catalog: Catalog) -> dict[str, str]:
    """Codes and names of the lists published to the public."""
    return {code: lst.name for code, lst in catalog.lists.items() if lst.published}


def _search(q: str) -> tuple[str, list[Any]]:
    """The WHERE clause (on ``m`` memberships joined with ``s`` subjects) for a search text."""
    text = q.strip()
    squeezed = re.sub(r"\s+", "", text).upper()
    if len(squeezed) == 18:
        try:
            code, _ = canonical(squeezed)
        except DecisionError:
            pass
        else:
            return "m.subject_id = ?", [code]
    if _ORG_PREFIX.match(squeezed):
        return "(m.subject_kind = 'organisation' AND starts_with(m.subject_id, ?))", [squeezed]
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "s.name ILIKE ? ESCAPE '\\'", [f"%{escaped}%"]


def list_page(
    store: DuckDBStore, catalog: Catalog, list_code: str, q: str | None, page: int, size: int
) -> tuple[int, list[dict[str, Any]]]:
    """The total number of matching published entries and the entries of one page (1-based),
    newest listing first, masked."""
    where = ["m.list = ?", "m.published"]
    params: list[Any] = [list_code]
    if q and q.strip():
        clause, extra = _search(q)
        where.append(clause)
        params += extra
    condition = " AND ".join(where)
    base = (
        "FROM d_memberships m LEFT JOIN (SELECT subject_id, any_value(name ORDER BY first_seq DESC) AS name "
        "FROM subjects GROUP BY subject_id) s USING (subject_id) "
        f"WHERE {condition}"
    )
    total = int(store.con.execute(f"SELECT count(*) {base}", params).fetchall()[0][0])
    rows = store.con.execute(
        f"SELECT m.subject_id, m.subject_kind, s.name, m.since, m.until {base} "
        "ORDER BY m.since DESC, m.subject_id LIMIT ? OFFSET ?",
        [*params, size, (page - 1) * size],
    ).fetchall()
    # the records of the page's entries only, gathered in a second query (a subject is on a
    # list once): gathered in the page's query, they cost a pass over every stored record
    shown = [r[0] for r in rows]
    listed: dict[str, Any] = {}
    if shown:
        listed = dict(
            store.con.execute(
                f"SELECT m.subject_id, {records_list('d_membership_records', 'm.subject_id', 'm.list')} "
                f"FROM d_memberships m WHERE m.list = ? AND m.subject_id IN ({', '.join('?' for _ in shown)})",
                [list_code, *shown],
            ).fetchall()
        )
    names = {c: t.name for c, t in catalog.record_types.items()}
    entries = []
    for subject_id, kind, name, since, until in rows:
        recs = list(listed.get(subject_id) or [])
        entries.append(
            {
                "subject": mask(subject_id, kind),
                "kind": kind,
                "name": name,
                "since": since,
                "until": until,
                "records": [
                    {
                        "type": r.get("type"),
                        "type_name": names.get(r.get("type") or ""),
                        "document_no": r.get("document_no"),
                        "decided_on": r.get("decided_on"),
                    }
                    for r in recs
                ],
            }
        )
    return total, entries

"""The in-memory decision index: after a derive, ``check`` answers in microseconds from one bit
mask per subject (restricted actions, with exemptions already applied, and granted incentives).
Explanations are built on demand from the stored derived tables. Decisions are logged in
batches: ``flush`` writes them, and must run before an answer is relied on elsewhere."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from socialcredit.catalog.actions import matches
from socialcredit.decide.explain import decide
from socialcredit.decide.service import stored_rows
from socialcredit.store.duckdb_store import DuckDBStore


@dataclass(frozen=True)
class Decision:
    """An answer from the index; ``explain`` gives the reasons."""

    decision_id: str
    subject: str
    action: str
    allowed: bool
    granted: bool
    known: bool


class DecisionIndex:
    """Bit masks over the catalogued actions, per subject, for the stored derived state."""

    def __init__(self, store: DuckDBStore, party: str = "cli") -> None:
        self.store = store
        self.party = party
        state = store.con.execute("SELECT as_of, data_version, catalog_version FROM derive_state").fetchall()
        if not state:
            raise LookupError("no derived state yet: run `socialcredit derive`")
        self.as_of: date = state[0][0]
        self.data_version = str(state[0][1])
        self.catalog_version, self.catalog = store.active_catalog()
        self.bit = {action: 1 << i for i, action in enumerate(sorted(self.catalog.actions))}
        self.measure_mask = {code: self._mask(m.actions) for code, m in self.catalog.measures.items()}
        self.restricted: dict[str, int] = {}
        self.granted: dict[str, int] = {}
        self._load()
        self._prefix = f"dec-{secrets.token_hex(4)}-"
        self._count = 0
        self._pending: list[tuple[Any, ...]] = []

    def _mask(self, patterns: list[str]) -> int:
        mask = 0
        for action, bit in self.bit.items():
            if any(matches(p, action) for p in patterns):
                mask |= bit
        return mask

    def _load(self) -> None:
        con = self.store.con
        exempt: dict[tuple[str, str], int] = {}
        for subject, etype, actions in con.execute("SELECT subject_id, type, actions FROM d_exemptions").fetchall():
            key = (subject, etype)
            exempt[key] = exempt.get(key, 0) | self._mask(json.loads(actions))
        rows = con.execute("SELECT subject_id, measure, kind FROM d_measures").fetchall()
        for subject, measure, kind in rows:
            mask = self.measure_mask[measure]
            if kind == "incentive":
                self.granted[subject] = self.granted.get(subject, 0) | mask
                continue
            for etype in self.catalog.measures[measure].exemptions:
                mask &= ~exempt.get((subject, etype), 0)
            self.restricted[subject] = self.restricted.get(subject, 0) | mask
        self.known = {str(r[0]) for r in con.execute("SELECT subject_id FROM subjects").fetchall()}

    def check(self, subject: str, action: str, purpose: str | None = None) -> Decision:
        """The answer for a canonical code and a catalogued action (KeyError if not catalogued)."""
        bit = self.bit[action]
        allowed = not self.restricted.get(subject, 0) & bit
        granted = bool(self.granted.get(subject, 0) & bit)
        known = subject in self.known
        self._count += 1
        decision_id = self._prefix + str(self._count)
        self._pending.append((decision_id, subject, action, allowed, known, purpose))
        return Decision(decision_id, subject, action, allowed, granted, known)

    def explain(self, decision: Decision) -> dict[str, Any]:
        """The full reasons of an index answer (from the stored derived tables)."""
        measures = stored_rows(self.store.con, "d_measures", decision.subject)
        exemptions = stored_rows(self.store.con, "d_exemptions", decision.subject)
        restrictions, incentives, lifted = decide(self.catalog, decision.action, measures, exemptions)
        return {
            "subject": decision.subject,
            "action": decision.action,
            "as_of": str(self.as_of),
            "allowed": decision.allowed,
            "known": decision.known,
            "restrictions": restrictions,
            "incentives": incentives,
            "lifted": lifted,
            "decision_id": decision.decision_id,
            "catalog_version": self.catalog_version,
            "data_version": self.data_version,
        }

    def flush(self) -> int:
        """Write the pending decisions to the decision log; returns how many."""
        if not self._pending:
            return 0
        ids, subjects, actions, allowed, known, purposes = zip(*self._pending, strict=True)
        n = len(ids)
        table = pa.table(
            {
                "decision_id": pa.array(ids, pa.string()),
                "decided_at": pa.array([datetime.now(UTC)] * n, pa.timestamp("us", tz="UTC")),
                "party": pa.array([self.party] * n, pa.string()),
                "purpose": pa.array(purposes, pa.string()),
                "subject_id": pa.array(subjects, pa.string()),
                "action": pa.array(actions, pa.string()),
                "allowed": pa.array(allowed, pa.bool_()),
                "known": pa.array(known, pa.bool_()),
                "as_of": pa.array([self.as_of] * n, pa.date32()),
                "known_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
                "catalog_version": pa.array([self.catalog_version] * n, pa.string()),
                "data_version": pa.array([self.data_version] * n, pa.string()),
                "measures": pa.nulls(n, pa.string()),
                "screen_id": pa.nulls(n, pa.string()),
            }
        )
        con = self.store.con
        con.register("pending_decisions", table)
        try:
            con.execute("INSERT INTO decisions SELECT * FROM pending_decisions")
        finally:
            con.unregister("pending_decisions")
        self._pending.clear()
        return n

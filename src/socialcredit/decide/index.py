"""The in-memory decision index: after a derive, ``check`` answers in microseconds from one bit
mask per subject (restricted actions, with exemptions already applied, and granted incentives),
and ``screen`` answers a column of codes with vectorised look-ups. Explanations are built on
demand from the stored derived tables.

Decisions are logged in batches: ``flush`` writes the pending checks to the decision log.
``screen`` writes every row's answer to the screening log (see ``screenlog``) before it returns.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import islice
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.catalog.actions import matches
from socialcredit.decide.explain import decide
from socialcredit.decide.screenlog import log_screening, new_screen_id
from socialcredit.decide.service import stored_rows, stored_rows_many
from socialcredit.identity.bulk import validate_codes
from socialcredit.store.duckdb_store import DuckDBStore


class Decision(NamedTuple):
    """An answer from the index; ``DecisionIndex.explain`` gives the reasons."""

    prefix: str
    seq: int
    subject: str
    action: str
    allowed: bool
    granted: bool
    known: bool

    @property
    def decision_id(self) -> str:
        """The logged id of this decision."""
        return f"{self.prefix}{self.seq}"


_PENDING = pa.struct(
    [
        ("seq", pa.int64()),
        ("subject_id", pa.string()),
        ("action", pa.string()),
        ("allowed", pa.bool_()),
        ("known", pa.bool_()),
        ("purpose", pa.string()),
    ]
)


class Reasons(NamedTuple):
    """A subject's stored derived rows: its measures and its exemptions."""

    measures: list[dict[str, Any]]
    exemptions: list[dict[str, Any]]


REASONS_KEPT = 20_000
"""How many subjects' stored rows an index keeps (about 10 kB each)."""


class DecisionIndex:
    """Bit masks over the catalogued actions, per subject, for the stored derived state. With
    ``reasons``, the stored rows of every subject some measure governs are read at once, when
    there are at most ``REASONS_KEPT`` of them (``reasons`` reads the others when asked)."""

    def __init__(self, store: DuckDBStore, party: str = "cli", *, reasons: bool = False) -> None:
        self.store = store
        self.party = party
        state = store.con.execute("SELECT as_of, data_version FROM derive_state").fetchall()
        if not state:
            raise LookupError("no derived state yet: run `socialcredit derive`")
        self.as_of: date = state[0][0]
        self.data_version = str(state[0][1])
        self.catalog_version, self.catalog = store.active_catalog()
        self.bit = {action: 1 << i for i, action in enumerate(sorted(self.catalog.actions))}
        self.measure_mask = {code: self._mask(m.actions) for code, m in self.catalog.measures.items()}
        self.restricted: dict[str, int] = {}
        self.granted: dict[str, int] = {}
        # actions some measure of the subject governs (restrictions before exemptions, incentives)
        self.governed: dict[str, int] = {}
        self._load()
        self.prefix = f"dec-{secrets.token_hex(4)}-"
        self._count = 0
        self._pending: list[tuple[Any, ...]] = []
        self._screen_ready = False
        self._token = secrets.token_hex(8)  # names the index that built the screen table
        self._reasons: dict[str, Reasons] = {}
        # explanations of the kept measure rows, by id(row) (see ``decide``)
        self.explained: dict[int, dict[str, Any]] = {}
        if reasons and len(self.governed) <= REASONS_KEPT:
            self.reasons(list(self.governed))  # every subject some measure governs, read at once

    def reasons(self, codes: list[str]) -> dict[str, Reasons]:
        """The stored measure and exemption rows of subjects (canonical codes), read from the
        derived tables once per subject and kept while this index lives (the most recently
        read ``REASONS_KEPT`` subjects)."""
        found: dict[str, Reasons] = {}
        missing: list[str] = []
        for code in codes:
            kept = self._reasons.get(code)
            if kept is None:
                missing.append(code)
            else:
                found[code] = kept
        if missing:
            measures = stored_rows_many(self.store.con, "d_measures", missing)
            exemptions = stored_rows_many(self.store.con, "d_exemptions", missing)
            for code in missing:
                found[code] = self._reasons[code] = Reasons(measures.get(code, []), exemptions.get(code, []))
            for code in list(islice(self._reasons, max(0, len(self._reasons) - REASONS_KEPT))):
                dropped = self._reasons.pop(code, None)
                for row in dropped.measures if dropped else []:
                    self.explained.pop(id(row), None)
        return found

    def kept(self, code: str) -> Reasons | None:
        """The subject's reasons if this index holds them (never reads the store)."""
        return self._reasons.get(code)

    def _mask(self, patterns: list[str]) -> int:
        mask = 0
        for action, bit in self.bit.items():
            if any(matches(p, action) for p in patterns):
                mask |= bit
        return mask

    def _load(self) -> None:
        """The masks of every subject some stored measure governs (aggregated in the database,
        kept as an Arrow table for ``screen``), and the codes on file."""
        con = self.store.con
        # masks of the measures, and of the distinct action lists of the exemptions
        measures = pa.table(
            {
                "measure": list(self.measure_mask),
                "mask": pa.array(list(self.measure_mask.values()), pa.uint64()),
            }
        )
        pairs = [(m, t) for m, spec in self.catalog.measures.items() for t in spec.exemptions]
        lifts = pa.table(
            {"measure": [m for m, _ in pairs], "type": [t for _, t in pairs]},
            schema=pa.schema([("measure", pa.string()), ("type", pa.string())]),
        )
        lists = [str(r[0]) for r in con.execute("SELECT DISTINCT actions FROM d_exemptions").fetchall()]
        exempt = pa.table(
            {"actions": lists, "mask": pa.array([self._mask(json.loads(a)) for a in lists], pa.uint64())},
            schema=pa.schema([("actions", pa.string()), ("mask", pa.uint64())]),
        )
        for name, table in (("index_measure_masks", measures), ("index_lifts", lifts), ("index_exempt", exempt)):
            con.register(name, table)
        try:
            # a restriction keeps the actions its measure governs less those that the subject's
            # exemptions of the types the measure names lift
            self._masks = con.sql(
                """
                WITH m AS (
                    SELECT d.subject_id, d.measure, d.kind, mm.mask
                    FROM d_measures d JOIN index_measure_masks mm USING (measure)
                ),
                ex AS (
                    SELECT e.subject_id, e.type, bit_or(x.mask) AS mask
                    FROM d_exemptions e JOIN index_exempt x USING (actions) GROUP BY ALL
                ),
                lifted AS (
                    SELECT m.subject_id, m.measure, bit_or(ex.mask) AS mask
                    FROM (SELECT DISTINCT subject_id, measure FROM m WHERE kind IS DISTINCT FROM 'incentive') m
                      JOIN index_lifts l USING (measure)
                      JOIN ex ON ex.subject_id = m.subject_id AND ex.type = l.type
                    GROUP BY ALL
                )
                SELECT m.subject_id AS code,
                       bit_or(m.mask) AS governed,
                       bit_or(m.mask) FILTER (WHERE m.kind = 'incentive') AS granted,
                       bit_or(m.mask & ~coalesce(l.mask, CAST(0 AS UBIGINT)))
                           FILTER (WHERE m.kind IS DISTINCT FROM 'incentive') AS restricted
                FROM m LEFT JOIN lifted l USING (subject_id, measure)
                GROUP BY m.subject_id
                """
            ).to_arrow_table()
        finally:
            for name in ("index_measure_masks", "index_lifts", "index_exempt"):
                con.unregister(name)
        codes = self._masks.column("code").to_pylist()
        self.governed = dict(zip(codes, self._masks.column("governed").to_pylist(), strict=True))
        for name, target in (("granted", self.granted), ("restricted", self.restricted)):
            target.update(
                (code, mask)
                for code, mask in zip(codes, self._masks.column(name).to_pylist(), strict=True)
                if mask is not None
            )
        mark = self.store.published_seq()
        # on file: every subject with records, and every person whom a measure reaches through
        # a role in an organisation (a legal representative need have no record of their own)
        self.known_codes = con.sql(
            f"SELECT subject_id FROM subjects WHERE first_seq <= {mark} "
            "UNION SELECT DISTINCT subject_id FROM d_measures"
        ).to_arrow_table()

    @cached_property
    def known(self) -> frozenset[str]:
        """The codes on file, as a set for single checks (built on the first check: a screen
        looks codes up in the database and never needs it)."""
        return frozenset(self.known_codes.column(0).to_pylist())

    # -- one question ------------------------------------------------------------------------------

    @cached_property
    def _answers(self) -> dict[str, int]:
        """Per code on file, one integer: bit 0 set (on file), the restricted mask above it and
        the granted mask above that (see ``_check_bits``), so that a check looks its code up once
        (three look-ups in maps of a million codes cost three cache misses). Built on the first
        check."""
        out = dict.fromkeys(self.known_codes.column(0).to_pylist(), 1)
        shift = len(self.bit)
        for code, mask in self.restricted.items():
            out[code] = out.get(code, 0) | mask << 1
        for code, mask in self.granted.items():
            out[code] = out.get(code, 0) | mask << (1 + shift)
        return out

    @cached_property
    def _check_bits(self) -> dict[str, tuple[int, int]]:
        """Per action, its restricted and granted bits in ``_answers``."""
        shift = len(self.bit)
        return {action: (bit << 1, bit << (1 + shift)) for action, bit in self.bit.items()}

    def check(self, subject: str, action: str, purpose: str | None = None) -> Decision:
        """The answer for a canonical code and a catalogued action (KeyError if not catalogued)."""
        restricted, granted_bit = self._check_bits[action]
        answer = self._answers.get(subject, 0)
        allowed = not answer & restricted
        granted = bool(answer & granted_bit)
        known = bool(answer & 1)
        self._count += 1
        self._pending.append((self._count, subject, action, allowed, known, purpose))
        return Decision(self.prefix, self._count, subject, action, allowed, granted, known)

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
        table = pa.Table.from_struct_array(pa.array(self._pending, type=_PENDING))
        n: int = table.num_rows
        con = self.store.con
        con.register("pending_decisions", table)
        try:
            con.execute(
                """INSERT INTO decisions
                   SELECT ? || seq, ?, ?, purpose, subject_id, action, allowed, known, ?, NULL, ?, ?, NULL, NULL
                   FROM pending_decisions""",
                [self.prefix, datetime.now(UTC), self.party, self.as_of, self.catalog_version, self.data_version],
            )
        finally:
            con.unregister("pending_decisions")
        self._pending.clear()
        return n

    # -- a column of codes -------------------------------------------------------------------------

    def _screen_table(self) -> str:
        """A temporary table of the known codes with their restricted and granted masks. One
        table per connection: ``screen_owner`` names the index that built it, and an index
        rebuilds it when another index (of other stored state) built it since."""
        con = self.store.con
        if self._screen_ready:
            owner = con.execute("SELECT token FROM screen_owner").fetchall()
            self._screen_ready = bool(owner) and owner[0][0] == self._token
        if not self._screen_ready:
            con.register("screen_codes", self.known_codes)
            con.register("screen_masks", self._masks)
            try:
                con.execute(
                    """
                    CREATE OR REPLACE TEMP TABLE screen_known AS
                    SELECT k.subject_id AS code, coalesce(x.restricted, CAST(0 AS UBIGINT)) AS r,
                           coalesce(x.granted, CAST(0 AS UBIGINT)) AS g
                    FROM screen_codes k LEFT JOIN screen_masks x ON x.code = k.subject_id
                    """
                )
            finally:
                con.unregister("screen_codes")
                con.unregister("screen_masks")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE screen_owner AS SELECT CAST(? AS VARCHAR) AS token", [self._token]
            )
            self._screen_ready = True
        return "screen_known"

    def _look_up(self, rows: np.ndarray, codes: pa.Array, bit: int, flags: np.ndarray) -> None:
        """Set the ``flags`` of the rows (0-based) whose code is known, by a hash join: 1 known,
        2 restricted for the action of ``bit``, 4 granted an incentive for it (one small
        column comes back from the join, not the masks)."""
        table = self._screen_table()
        con = self.store.con
        con.register("screen_query", pa.table({"row": pa.array(rows), "code": codes}))
        try:
            hits = con.sql(
                "SELECT q.row, CAST(1 + CASE WHEN k.r & $bit <> 0 THEN 2 ELSE 0 END "
                "+ CASE WHEN k.g & $bit <> 0 THEN 4 ELSE 0 END AS UTINYINT) AS f "
                f"FROM screen_query q JOIN {table} k ON k.code = q.code",
                params={"bit": bit},
            ).fetchnumpy()
        finally:
            con.unregister("screen_query")
        flags[np.asarray(hits["row"], np.int64)] = np.asarray(hits["f"], np.uint8)

    def answer(self, values: pa.Array | pa.ChunkedArray, action: str) -> pa.Table:
        """Answer one action for every code of a column (not logged: see ``screen``). Codes are
        looked up as given; those not found are validated and compacted, then looked up again."""
        bit = int(self.bit[action])
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        n = len(values)
        flags = np.zeros(n, np.uint8)
        self._look_up(np.arange(n, dtype=np.int64), values, bit, flags)
        found = (flags & 1) != 0
        canonical = values
        valid = found.copy()
        if not found.all():
            idx = np.nonzero(~found)[0]
            checked = validate_codes(values.take(pa.array(idx)))
            valid[idx] = pc.fill_null(pc.or_(checked.column("person_ok"), checked.column("org_ok")), False).to_numpy(
                zero_copy_only=False
            )
            fixed = checked.column("code").combine_chunks()
            canonical = pc.replace_with_mask(values, pa.array(~found), fixed)
            changed = pc.and_(pc.is_valid(fixed), pc.not_equal(fixed, values.take(pa.array(idx))))
            again = idx[pc.fill_null(changed, False).to_numpy(zero_copy_only=False)]
            if len(again):
                self._look_up(again, canonical.take(pa.array(again)), bit, flags)
                found = (flags & 1) != 0
        result = pa.table(
            {
                "row": pa.array(np.arange(1, n + 1)),
                "subject_id": values,
                "code": canonical,
                "valid": pa.array(valid),
                "known": pa.array(found),
                "allowed": pa.array((flags & 2) == 0),
                "granted": pa.array((flags & 4) != 0),
            }
        )
        return result

    def screen(self, values: pa.Array | pa.ChunkedArray, action: str, purpose: str | None = None) -> pa.Table:
        """``answer``, with every row logged (see ``screenlog``) before it returns."""
        result = self.answer(values, action)
        screen_id = new_screen_id()
        log_screening(
            self.store,
            screen_id,
            action=action,
            party=self.party,
            purpose=purpose,
            as_of=self.as_of,
            catalog_version=self.catalog_version,
            data_version=self.data_version,
            source="index",
            rows=result,
        )
        n = result.num_rows
        return result.append_column(
            "screen_id", pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), [screen_id])
        )

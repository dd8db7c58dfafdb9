"""Answering relying parties and subjects: ``show`` (a subject's file), ``check`` (may subject X
do action A?) and ``screen`` (the same for a column of codes). Every check is logged in the ``decisions`` table
and every screened row in the screening log, with a decision id, before the answer returns."""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.catalog.actions import matches, nearest
from socialcredit.decide.explain import covering, decide, exemptions_for, measure_item, until_rule
from socialcredit.decide.screenlog import log_screening, new_screen_id
from socialcredit.derive import Derived, Deriver
from socialcredit.derive.sql import measure_records
from socialcredit.identity import codes as id_codes
from socialcredit.identity.bulk import validate_codes
from socialcredit.ingest.sqlgen import lit
from socialcredit.settings import today
from socialcredit.store.duckdb_store import DuckDBStore

if TYPE_CHECKING:
    from socialcredit.decide.index import DecisionIndex, Reasons

_DECISIONS = pa.schema(
    [
        ("decision_id", pa.string()),
        ("decided_at", pa.timestamp("us", tz="UTC")),
        ("party", pa.string()),
        ("purpose", pa.string()),
        ("subject_id", pa.string()),
        ("action", pa.string()),
        ("allowed", pa.bool_()),
        ("known", pa.bool_()),
        ("as_of", pa.date32()),
        ("known_at", pa.timestamp("us", tz="UTC")),
        ("catalog_version", pa.string()),
        ("data_version", pa.string()),
        ("measures", pa.string()),
        ("screen_id", pa.string()),
    ]
)


class DecisionError(ValueError):
    """A question that cannot be answered as asked (bad code, unknown action)."""

    def __init__(self, code: str, message: str, suggestions: list[str] | None = None) -> None:
        self.code = code
        self.message = message
        self.suggestions = suggestions or []
        super().__init__(message)


def new_decision_id() -> str:
    """A unique, time-ordered decision id."""
    return new_decision_ids(1)[0]


def new_decision_ids(n: int) -> list[str]:
    """``n`` unique, time-ordered decision ids at once: the time in nanoseconds, then 32 random
    bits (ids are identifiers, not secrets: a fast generator, seeded from the system's)."""
    start = time.time_ns()
    noise = _ids_random.randbytes(4 * n).hex()
    return [f"dec-{start + i:x}-{noise[8 * i : 8 * i + 8]}" for i in range(n)]


_ids_random = random.Random(secrets.randbits(128))


def canonical(code: str) -> tuple[str, str]:
    """(canonical code, kind) of an identity code; DecisionError with the reason when invalid."""
    person = id_codes.check_person(code)  # a code valid as both is read as a person's
    if not isinstance(person, id_codes.IdentityError):
        return person.code, "person"
    org = id_codes.check_org(code)
    if not isinstance(org, id_codes.IdentityError):
        return org.code, "organisation"
    reason = id_codes.invalid_reasons(code)
    raise DecisionError("invalid_subject_id", f"{code!r} is not a valid identity code ({reason})")


_FEW_CODES = 8


def canonical_many(codes: list[str]) -> list[tuple[str, str] | DecisionError]:
    """``canonical`` for many codes, validated in one vectorised pass (the bulk validator
    agrees with the per-code one; a few codes are checked one by one, which is faster); an
    invalid code gives its DecisionError."""
    out: list[tuple[str, str] | DecisionError] = []
    if len(codes) <= _FEW_CODES:
        for raw in codes:
            try:
                out.append(canonical(raw))
            except DecisionError as exc:
                out.append(exc)
        return out
    table = validate_codes(pa.array(codes, pa.string()))
    for raw, code, person_ok, org_ok in zip(
        codes,
        table.column("code").to_pylist(),
        table.column("person_ok").to_pylist(),
        table.column("org_ok").to_pylist(),
        strict=True,
    ):
        if person_ok:
            out.append((code, "person"))
        elif org_ok:
            out.append((code, "organisation"))
        else:
            try:
                out.append(canonical(raw))  # raises with the reasons
            except DecisionError as exc:
                out.append(exc)
    return out


def decision_rows(answers: list[dict[str, Any]], purposes: list[str | None]) -> list[tuple[Any, ...]]:
    """The decision log rows of answers of ``Decider.answer`` (one purpose each)."""
    now = datetime.now(UTC)
    days: dict[str, date] = {}
    return [
        (
            a["decision_id"],
            now,
            a["party"],
            purpose,
            a["subject"],
            a["action"],
            a["allowed"],
            a["known"],
            days.get(a["as_of"]) or days.setdefault(a["as_of"], date.fromisoformat(a["as_of"])),
            datetime.fromisoformat(a["known_at"]) if a["known_at"] else None,
            a["catalog_version"],
            a["data_version"],
            json.dumps([r["measure"] for r in a["restrictions"]] + [i["measure"] for i in a["incentives"]])
            if a["restrictions"] or a["incentives"]
            else "[]",
            None,
        )
        for a, purpose in zip(answers, purposes, strict=True)
    ]


def write_decisions(con: Any, rows: list[tuple[Any, ...]]) -> None:
    """Append rows of ``decision_rows`` to the decision log over ``con``, in one statement and
    one commit (all of them are logged, or none)."""
    if not rows:
        return
    if len(rows) == 1:
        con.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows[0])
        return
    columns = list(zip(*rows, strict=True))
    table = pa.Table.from_arrays(
        [pa.array(c, f.type) for c, f in zip(columns, _DECISIONS, strict=True)], schema=_DECISIONS
    )
    con.register("logged_decisions", table)
    try:
        con.execute("INSERT INTO decisions SELECT * FROM logged_decisions")
    finally:
        con.unregister("logged_decisions")


class Decider:
    """Decisions over one store (the asking party is recorded with every decision)."""

    def __init__(self, store: DuckDBStore, party: str = "cli") -> None:
        self.store = store
        self.con = store.con
        self.party = party
        self.deriver = Deriver(store)
        self.catalog = self.deriver.catalog
        self.catalog_version = self.deriver.catalog_version
        self._covering: dict[str, frozenset[str]] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def check_action(self, action: str) -> None:
        """DecisionError listing the nearest catalogued actions when ``action`` is unknown."""
        if action not in self.catalog.actions:
            near = nearest(action, self.catalog.actions)
            raise DecisionError("unknown_action", f"unknown action {action!r}", near)

    def _fresh_state(self, as_of: date, known_at: datetime | None) -> dict[str, Any] | None:
        """The materialised state when it answers this question exactly, else None."""
        if known_at is not None:
            return None
        state = self.deriver.state()
        if (
            state is None
            or state["as_of"] != as_of
            or state["catalog_version"] != self.catalog_version
            or state["published_seq"] != self.store.published_seq()
        ):
            return None
        return state

    def _subject_info(self, code: str) -> tuple[bool, str | None, str | None]:
        rows = self.con.execute(
            "SELECT kind, name FROM subjects WHERE subject_id = ? AND first_seq <= ?",
            [code, self.store.published_seq()],
        ).fetchall()
        if rows:
            return True, str(rows[0][0]), rows[0][1]
        return False, None, None

    # -- show ------------------------------------------------------------------------------------

    def show(self, code: str, as_of: date | None = None, known_at: datetime | None = None) -> dict[str, Any]:
        """A subject's whole file on a date: lists, restrictions, incentives, score, records."""
        code, kind = canonical(code)
        as_of = as_of or today(self.store.settings)
        known, stored_kind, name = self._subject_info(code)
        derived = self.deriver.subject(code, as_of, known_at)
        restrictions: list[dict[str, Any]] = []
        incentives: list[dict[str, Any]] = []
        for row in derived.measures:
            exempt = (
                exemptions_for(self.catalog, row["measure"], None, derived.exemptions)
                if row["kind"] == "restriction"
                else []
            )
            item = measure_item(self.catalog, row, exempt)
            (restrictions if row["kind"] == "restriction" else incentives).append(item)
        score = derived.scores.get(code)
        windows: dict[str, Any] = {}
        for m in derived.memberships:
            published = m["published"]
            for r in m["records"]:
                if published and r.get("record_id"):
                    windows[r["record_id"]] = r.get("until")
        return {
            "subject": code,
            "kind": stored_kind or kind,
            "name": name,
            "known": known or bool(derived.records or derived.measures or derived.memberships),
            "as_of": str(as_of),
            "known_at": known_at.isoformat() if known_at else None,
            "data_version": derived.data_version,
            "catalog_version": self.catalog_version,
            "lists": [
                {
                    "list": m["list"],
                    "list_name": self.catalog.lists[m["list"]].name if m["list"] in self.catalog.lists else None,
                    "since": _day(m["since"]),
                    "until": _day(m["until"]),
                    "until_rule": None if m["until"] is not None else until_rule(self.catalog, m["list"]),
                    "published": bool(m["published"]),
                    "records": [
                        {
                            "record_id": r["record_id"],
                            "type": r["type"],
                            "document_no": r["document_no"],
                            "decided_on": _day(r["decided_on"]),
                        }
                        for r in m["records"]
                    ],
                }
                for m in derived.memberships
            ],
            "restrictions": restrictions,
            "incentives": incentives,
            "exemptions": exemptions_for_all(derived),
            "score": score["score"] if score else None,
            "grade": score["grade"] if score else None,
            "consent": (
                {
                    "record_id": score["consent_record"],
                    "document_no": score["consent_document"],
                    "since": _day(score["consent_since"]),
                }
                if score
                else None
            ),
            "records": [record_item(r, as_of, score is not None, windows) for r in derived.records],
        }

    # -- check -----------------------------------------------------------------------------------

    def check(
        self,
        code: str,
        action: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
        purpose: str | None = None,
    ) -> dict[str, Any]:
        """May the subject do the action on the date? With every reason, logged."""
        answer = self.answer(code, action, as_of, known_at)
        self.log_answers([answer], [purpose])
        return answer

    def answer(
        self,
        code: str,
        action: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
        party: str | None = None,
    ) -> dict[str, Any]:
        """The answer of ``check``, not yet logged (``log_answers`` logs it); ``party`` overrides
        the decider's asking party."""
        self.check_action(action)
        code, kind = canonical(code)
        as_of = as_of or today(self.store.settings)
        known, _, _ = self._subject_info(code)
        state = self._fresh_state(as_of, known_at)
        if state is not None:
            measures = self._stored("d_measures", code)
            exemptions = self._stored("d_exemptions", code)
            data_version = str(state["data_version"])
            known = known or bool(measures)
        else:
            derived = self.deriver.subject(code, as_of, known_at)
            measures, exemptions, data_version = derived.measures, derived.exemptions, derived.data_version
            known = known or bool(derived.records or derived.measures)
        return self._answer_dict(code, kind, action, as_of, known_at, known, measures, exemptions, data_version, party)

    def answer_many(
        self,
        items: list[tuple[str, str]],
        as_of: date | None = None,
        party: str | None = None,
        index: DecisionIndex | None = None,
    ) -> list[dict[str, Any] | DecisionError]:
        """``answer`` for many (code, action) items, not yet logged: each item gets its answer,
        or the DecisionError of an invalid code or unknown action. With stored state for
        ``as_of`` the subjects' rows are read in one query per table, not one per item; with a
        decision ``index`` of that state (the caller keeps it current), only the rows of the
        subjects some measure of which governs the action are read."""
        as_of = as_of or today(self.store.settings)
        parsed: list[tuple[str, str, str] | DecisionError] = []
        checked: dict[str, DecisionError | None] = {}
        for action in {a for _, a in items}:
            try:
                self.check_action(action)
                checked[action] = None
            except DecisionError as exc:
                checked[action] = exc
        for (_, action), canon in zip(items, canonical_many([c for c, _ in items]), strict=True):
            problem = checked[action]
            if problem is not None:
                parsed.append(problem)
            elif isinstance(canon, DecisionError):
                parsed.append(canon)
            else:
                parsed.append((canon[0], canon[1], action))
        if index is not None and index.as_of == as_of:
            return self.answer_indexed(index, parsed, as_of, party)
        state = self._fresh_state(as_of, None)
        if state is None:
            return [p if isinstance(p, DecisionError) else self.answer(p[0], p[2], as_of, None, party) for p in parsed]
        codes = sorted({p[0] for p in parsed if not isinstance(p, DecisionError)})
        on_file = {
            r[0]
            for r in self._rows_for_codes(
                "SELECT s.subject_id FROM subjects s SEMI JOIN wanted w ON w.code = s.subject_id "
                f"WHERE s.first_seq <= {self.store.published_seq()}",
                codes,
            )
        }
        measures = stored_rows_many(self.con, "d_measures", codes)
        exemptions = stored_rows_many(self.con, "d_exemptions", codes)
        data_version = str(state["data_version"])
        out: list[dict[str, Any] | DecisionError] = []
        for p in parsed:
            if isinstance(p, DecisionError):
                out.append(p)
                continue
            code, kind, action = p
            m = measures.get(code, [])
            known = code in on_file or bool(m)
            out.append(
                self._answer_dict(
                    code, kind, action, as_of, None, known, m, exemptions.get(code, []), data_version, party
                )
            )
        return out

    def answer_indexed(
        self,
        index: DecisionIndex,
        parsed: list[tuple[str, str, str] | DecisionError],
        as_of: date,
        party: str | None,
        reasons: dict[str, Reasons] | None = None,
    ) -> list[dict[str, Any] | DecisionError]:
        """Answers from a decision index of the stored state for ``as_of``, for (canonical
        code, kind, catalogued action) items; an item that is a DecisionError stays one. The
        reasons of the subjects some measure of which governs the action come from the index
        (which may read the store), or from ``reasons`` when given (then the store is not used)."""
        if reasons is None:
            bit = index.bit
            wanted = {
                p[0] for p in parsed if not isinstance(p, DecisionError) and index.governed.get(p[0], 0) & bit[p[2]]
            }
            reasons = index.reasons(sorted(wanted))
        out: list[dict[str, Any] | DecisionError] = []
        ids = iter(new_decision_ids(len(parsed)))
        for p in parsed:
            if isinstance(p, DecisionError):
                out.append(p)
                continue
            code, kind, action = p
            found = reasons.get(code)
            answer = self._answer_dict(
                code,
                kind,
                action,
                as_of,
                None,
                code in index.known,
                found.measures if found else [],
                found.exemptions if found else [],
                index.data_version,
                party,
                next(ids),
                index.explained,
            )
            out.append(answer)
        return out

    def fresh_index(self, as_of: date) -> DecisionIndex | None:
        """A decision index of the stored state when it answers for ``as_of``, else None; it
        holds the reasons of the subjects it governs, for answers that do not read the store."""
        from socialcredit.decide.index import DecisionIndex  # the index builds on this module

        if self._fresh_state(as_of, None) is None:
            return None
        return DecisionIndex(self.store, self.party, reasons=True)

    def _rows_for_codes(self, sql: str, codes: list[str]) -> list[tuple[Any, ...]]:
        """Rows of ``sql``, which joins the temporary relation ``wanted(code)``."""
        self.con.register("wanted", pa.table({"code": pa.array(codes, pa.string())}))
        try:
            return self.con.execute(sql).fetchall()
        finally:
            self.con.unregister("wanted")

    def _answer_dict(
        self,
        code: str,
        kind: str,
        action: str,
        as_of: date,
        known_at: datetime | None,
        known: bool,
        measures: list[dict[str, Any]],
        exemptions: list[dict[str, Any]],
        data_version: str,
        party: str | None,
        decision_id: str | None = None,
        explained: dict[int, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        governing = self._covering.get(action)
        if governing is None:
            governing = self._covering[action] = covering(self.catalog, action)
        restrictions, incentives, lifted = decide(self.catalog, action, measures, exemptions, governing, explained)
        return {
            "subject": code,
            "kind": kind,
            "action": action,
            "action_name": self.catalog.actions[action],
            "as_of": str(as_of),
            "known_at": known_at.isoformat() if known_at else None,
            "allowed": not restrictions,
            "known": known,
            "restrictions": restrictions,
            "incentives": incentives,
            "lifted": lifted,
            "decision_id": decision_id or new_decision_id(),
            "party": party or self.party,
            "catalog_version": self.catalog_version,
            "data_version": data_version,
        }

    def log_answers(self, answers: list[dict[str, Any]], purposes: list[str | None]) -> None:
        """Write answers of ``answer`` (one purpose each) to the decision log in one statement."""
        write_decisions(self.con, decision_rows(answers, purposes))

    def _stored(self, table: str, code: str) -> list[dict[str, Any]]:
        return stored_rows(self.con, table, code)

    # -- screen ----------------------------------------------------------------------------------

    def screen(
        self,
        values: pa.Array | pa.ChunkedArray,
        action: str,
        as_of: date | None = None,
        purpose: str | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> pa.Table:
        """Check one action for every code of a column, vectorised, with the reasons of every
        restricted or granted row; every row is logged before the answer returns.

        When the stored derived state is for ``as_of``, the decision index answers and the
        reasons come from the stored tables; otherwise the screened subjects are derived for
        ``as_of`` into temporary tables first. ``on_stage`` hears ``answering``, ``explaining``
        and ``logging`` as the screening reaches them."""
        from socialcredit.decide.index import DecisionIndex  # the index builds on this module

        self.check_action(action)
        as_of = as_of or today(self.store.settings)
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        stage = on_stage or (lambda _: None)
        stage("answering")
        state = self._fresh_state(as_of, None)
        plan = None
        if state is not None:
            answers = DecisionIndex(self.store, self.party).answer(values, action)
            tables = ("d_measures", "d_exemptions")
            data_version = str(state["data_version"])
        else:
            ids = validate_codes(values)
            answers = pa.table(
                {
                    "row": pa.array(range(1, len(values) + 1), pa.int64()),
                    "subject_id": values,
                    "code": ids.column("code"),
                    "valid": pc.fill_null(pc.or_(ids.column("person_ok"), ids.column("org_ok")), False),
                }
            )
            plan = self.deriver.open_scoped(pc.drop_null(ids.column("code")), as_of)
            tables = ("measures", "exemptions")
            data_version = f"{self.store.published_seq()}@{as_of}"
        screen_id = new_screen_id()
        stage("explaining")
        try:
            result = self._with_reasons(answers, action, tables, screen_id, from_index=state is not None)
        finally:
            if plan is not None:
                self.deriver.close(plan)
        stage("logging")
        log_screening(
            self.store,
            screen_id,
            action=action,
            party=self.party,
            purpose=purpose,
            as_of=as_of,
            catalog_version=self.catalog_version,
            data_version=data_version,
            source="derived" if plan is not None else "index",
            rows=result,
        )
        return result

    def _with_reasons(
        self, answers: pa.Table, action: str, tables: tuple[str, str], screen_id: str, *, from_index: bool
    ) -> pa.Table:
        """The screening result: the answers with, per row, the restricting measures, their lists
        and end date, the granted incentives and the decision id. Without the index's answers,
        ``known`` and ``allowed`` are computed here from the same tables."""
        measures_table, exemptions_table = tables
        restricting = [
            c
            for c, m in self.catalog.measures.items()
            if m.kind == "restriction" and any(matches(p, action) for p in m.actions)
        ]
        granting = [
            c
            for c, m in self.catalog.measures.items()
            if m.kind == "incentive" and any(matches(p, action) for p in m.actions)
        ]
        exempt = self._exempt_subjects(exemptions_table, action, restricting)
        m_list = ", ".join(lit(m) for m in restricting) or "NULL"
        i_list = ", ".join(lit(m) for m in granting) or "NULL"
        if from_index:
            scope = "SELECT DISTINCT code FROM screened WHERE NOT allowed OR granted"
            known, allowed = "s.known", "s.allowed"
        else:
            scope = "SELECT DISTINCT code FROM screened WHERE valid"
            known = (
                f"(s.code IN (SELECT subject_id FROM subjects WHERE first_seq <= {self.store.published_seq()}) "
                f"OR s.code IN (SELECT subject_id FROM {measures_table}))"
            )
            allowed = "r.restrictions IS NULL"
        self.con.register("screened", answers)
        self.con.register("exempt", exempt)
        try:
            return self.con.sql(
                f"""
                WITH scope AS ({scope}),
                r AS (
                    SELECT subject_id, string_agg(DISTINCT measure, ';' ORDER BY measure) AS restrictions,
                           string_agg(DISTINCT list, ';' ORDER BY list) AS lists,
                           CASE WHEN bool_or(until IS NULL) THEN NULL ELSE max(until) END AS until
                    FROM {measures_table} m SEMI JOIN scope ON scope.code = m.subject_id
                    WHERE measure IN ({m_list})
                      AND NOT EXISTS (SELECT 1 FROM exempt x
                                      WHERE x.subject_id = m.subject_id AND x.measure = m.measure)
                    GROUP BY subject_id
                ),
                g AS (
                    SELECT subject_id, string_agg(DISTINCT measure, ';' ORDER BY measure) AS incentives
                    FROM {measures_table} m SEMI JOIN scope ON scope.code = m.subject_id
                    WHERE measure IN ({i_list}) GROUP BY subject_id
                )
                SELECT s.row, s.subject_id, s.valid, s.code, coalesce({known}, FALSE) AS known,
                       {allowed} AS allowed, r.restrictions, r.lists, r.until, g.incentives,
                       {lit(screen_id)} || ':' || s.row AS decision_id
                FROM screened s LEFT JOIN r ON r.subject_id = s.code LEFT JOIN g ON g.subject_id = s.code
                ORDER BY s.row
                """
            ).to_arrow_table()
        finally:
            self.con.unregister("screened")
            self.con.unregister("exempt")

    def _exempt_subjects(self, table: str, action: str, restricting: list[str]) -> pa.Table:
        """(subject, measure) pairs whose restriction of ``action`` an exemption lifts."""
        subjects: list[str] = []
        measures: list[str] = []
        exemptible = {
            m: set(self.catalog.measures[m].exemptions) for m in restricting if self.catalog.measures[m].exemptions
        }
        if exemptible and _table_exists(self.con, table):
            for subject_id, etype, actions in self.con.execute(
                f"SELECT subject_id, type, actions FROM {table}"
            ).fetchall():
                patterns = json.loads(actions) if isinstance(actions, str) else list(actions or [])
                if not any(matches(p, action) for p in patterns):
                    continue
                for m, types in exemptible.items():
                    if etype in types:
                        subjects.append(subject_id)
                        measures.append(m)
        return pa.table({"subject_id": pa.array(subjects, pa.string()), "measure": pa.array(measures, pa.string())})


_STORED_ORDER = {
    "d_measures": "m.kind, m.measure, m.list, m.via_organisation, m.via_role",
    "d_exemptions": "m.decided_on, m.record_id",
}


def _stored_sql(table: str, where: str) -> str:
    if table == "d_measures":
        return (
            f"SELECT m.*, {measure_records('d_membership_records')} AS records FROM d_measures m "
            f"WHERE {where} ORDER BY {_STORED_ORDER[table]}"
        )
    order = _STORED_ORDER.get(table)
    return f"SELECT * FROM {table} m WHERE {where}" + (f" ORDER BY {order}" if order else "")


def _stored_dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        if "actions" in r and isinstance(r["actions"], str):
            r["actions"] = json.loads(r["actions"])
    return rows


def stored_rows(con: Any, table: str, code: str) -> list[dict[str, Any]]:
    """A subject's rows of a stored derived table; measures get the records of the listing
    they follow from (the subject's own, or the organisation's when reached through a role)."""
    return _stored_dicts(con.execute(_stored_sql(table, "m.subject_id = ?"), [code]))


def stored_rows_many(con: Any, table: str, codes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``stored_rows`` for many subjects in one query, by subject."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not codes:
        return out
    con.register("wanted_codes", pa.table({"code": pa.array(codes, pa.string())}))
    try:
        rows = _stored_dicts(con.execute(_stored_sql(table, "m.subject_id IN (SELECT code FROM wanted_codes)")))
    finally:
        con.unregister("wanted_codes")
    for r in rows:
        out.setdefault(r["subject_id"], []).append(r)
    return out


def _table_exists(con: Any, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _day(value: Any) -> str | None:
    return str(value) if value is not None else None


def exemptions_for_all(derived: Derived) -> list[dict[str, Any]]:
    """A subject's exemptions in force, for ``show``."""
    return [
        {
            "record_id": e["record_id"],
            "type": e["type"],
            "document_no": e.get("document_no"),
            "decided_on": _day(e.get("decided_on")),
            "valid_until": _day(e.get("valid_until")),
            "actions": e["actions"] if isinstance(e["actions"], list) else json.loads(e["actions"] or "[]"),
        }
        for e in derived.exemptions
    ]


def record_item(r: dict[str, Any], as_of: date, scored: bool, windows: dict[str, Any]) -> dict[str, Any]:
    """One record of ``show``: its status on the date, points and publication."""
    if r.get("revoked_on") is not None:
        status = "revoked"
    elif r.get("repaired_on") is not None:
        status = "repaired"
    elif r.get("delisted_on") is not None:
        status = "deleted"
    elif r.get("retention_until") is not None and as_of >= r["retention_until"]:
        status = "expired"
    elif r.get("performed_on") is not None:
        status = "performed"
    else:
        status = "in_force"
    counting = (
        scored
        and r.get("points") is not None
        and r.get("revoked_on") is None
        and (r.get("points_until") is None or as_of < r["points_until"])
    )
    published_until = r.get("published_until") or windows.get(r["record_id"])
    return {
        "record_id": r["record_id"],
        "source": r["source"],
        "type": r["type"],
        "status": status,
        "decided_on": _day(r["decided_on"]),
        "document_no": r.get("document_no"),
        "attrs": json.loads(r["attrs"]) if r.get("attrs") else {},
        "performed_on": _day(r.get("performed_on")),
        "deleted_on": _day(r.get("delisted_on")),
        "repaired_on": _day(r.get("repaired_on")),
        "revoked_on": _day(r.get("revoked_on")),
        "points": (r["points"] if counting else 0.0) if scored and r.get("points") is not None else None,
        "points_until": _day(r.get("points_until")),
        "published_until": _day(published_until),
        "retention_until": _day(r.get("retention_until")),
        "history": [
            {
                "action": h["action"],
                "event_id": h["event_id"],
                "decided_on": _day(h["decided_on"]),
                "document_no": h["document_no"],
            }
            for h in (r.get("history") or [])
        ],
    }

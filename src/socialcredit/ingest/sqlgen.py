"""SQL generated from the catalog: staging projections, typed values and row checks.

A row check is a condition that is true when the row is bad, with the field, the error code
and a message template. The database evaluates the conditions set-wise; for the few bad rows
it lists the ids of the failed checks, and the messages are rendered from the templates with
the row's values (``str.format`` fields name columns of the row).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from socialcredit.catalog.actions import PATTERN_RE
from socialcredit.catalog.models import AttributeSpec, Catalog, Condition, RecordType
from socialcredit.ingest.reading import CORE_COLUMNS, Source, attribute_names

MAX_KEY = 128
MAX_TEXT = 500
ACTIONS = ("create", "correct", "revoke", "perform", "delist", "extend", "repair")
VERBATIM = ("subject_id", "subject_name", "document_no")
UNPARSABLE = ("not valid JSON", "a line must hold a JSON object")
"""Parse errors of JSON Lines lines that yield no fields at all."""
_INT_RE = r"^[+-]?[0-9]+$"
_NUM_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def lit(value: object) -> str:
    """An SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit_set(values: list[str]) -> str:
    """A parenthesised SQL value list, for ``x IN (...)``."""
    return "(" + ", ".join(lit(v) for v in values) + ")"


def lit_list(values: list[str]) -> str:
    """An SQL list literal of strings."""
    return "[" + ", ".join(lit(v) for v in values) + "]"


def err(field: str, code: str, message_sql: str) -> str:
    """An error struct literal whose message is an SQL expression (cross-row checks)."""
    return f"{{'field': {lit(field)}, 'code': {lit(code)}, 'message': {message_sql}}}"


@dataclass(frozen=True)
class Check:
    """A bad-row condition and the error struct (SQL) it produces."""

    bad: str
    error: str


def errors_expr(checks: list[Check]) -> str:
    """NULL for a good row, else the list of its errors (for small sets of rows)."""
    if not checks:
        return f"CAST(NULL AS {ERR_LIST})"
    any_bad = " OR ".join(f"({c.bad})" for c in checks)
    items = ", ".join(f"CASE WHEN {c.bad} THEN {c.error} END" for c in checks)
    return f"CASE WHEN {any_bad} THEN list_filter([{items}], lambda x: x IS NOT NULL) END"


ERR_LIST = "STRUCT(field VARCHAR, code VARCHAR, message VARCHAR)[]"


# -- row checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowCheck:
    """A row-local check: SQL condition (true = bad), field, code, message template."""

    bad: str
    field: str
    code: str
    message: str


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, row: Mapping[str, Any]) -> str:
    """A message template filled with a row's values (missing values render empty)."""
    return string.Formatter().vformat(template, (), _Blank({k: "" if v is None else v for k, v in row.items()}))


@dataclass
class CheckPlan:
    """Row checks grouped so that each row evaluates only those of its type and action."""

    core: list[RowCheck]
    by_type: dict[str, list[RowCheck]]
    by_action: dict[str, dict[str, list[RowCheck]]]

    @property
    def all(self) -> list[RowCheck]:
        """Every check; a check's id is its index here."""
        out = list(self.core)
        for rtype in sorted(set(self.by_type) | set(self.by_action)):
            out.extend(self.by_type.get(rtype, []))
            for checks in self.by_action.get(rtype, {}).values():
                out.extend(checks)
        return out

    def _typed(
        self,
        render_group: Callable[[list[RowCheck], int], str],
        empty: str,
        join: str,
        first: Sequence[str] = (),
        merge: bool = False,
    ) -> str:
        branches: dict[str, str] = {}
        offset = len(self.core)
        for rtype in sorted(set(self.by_type) | set(self.by_action)):
            parts = []
            tchecks = self.by_type.get(rtype, [])
            if tchecks:
                parts.append(render_group(tchecks, offset))
            offset += len(tchecks)
            bodies: dict[str, str] = {}
            for action, checks in self.by_action.get(rtype, {}).items():
                bodies[action] = render_group(checks, offset) if checks else empty
                offset += len(checks)
            if merge:
                parts.extend(_merged_cases(bodies, empty))
            else:
                actions = [f"WHEN {lit(a)} THEN {body}" for a, body in bodies.items() if body != empty]
                if actions:
                    parts.append(f"CASE action {' '.join(actions)} ELSE {empty} END")
            if parts:
                body = parts[0] if len(parts) == 1 else join.format(*parts)
                branches[rtype] = f"WHEN {lit(rtype)} THEN {body}"
        # (the branches are tried in turn: the types named in ``first`` are tried first)
        order = [t for t in first if t in branches] + [t for t in branches if t not in first]
        text = " ".join(branches[t] for t in order)
        return f"CASE etype {text} ELSE {empty} END" if branches else empty

    def bad(self, first: Sequence[str] = ()) -> str:
        """True when the row fails any check (a NULL condition does not fail). The record types
        in ``first`` (the most frequent, say) are matched first; the result is the same."""
        core = " OR ".join(f"({c.bad})" for c in self.core) or "FALSE"
        # (actions whose checks read the same are merged: see _merged_cases)
        typed = self._typed(
            lambda cs, _: " OR ".join(f"({c.bad})" for c in cs), "FALSE", "({}) OR ({})", first, merge=True
        )
        return f"coalesce(({core}) OR ({typed}), FALSE)"

    def failed(self) -> str:
        """The ids of the checks a (bad) row fails, as an integer list."""

        def ids(checks: list[RowCheck], offset: int) -> str:
            return "[" + ", ".join(f"CASE WHEN {c.bad} THEN {offset + i} END" for i, c in enumerate(checks)) + "]"

        empty = "CAST([] AS INTEGER[])"
        core = ids(self.core, 0)
        typed = self._typed(ids, empty, "list_concat({}, {})")
        return f"list_filter(list_concat({core}, {typed}), lambda x: x IS NOT NULL)"


def _merged_cases(bodies: dict[str, str], empty: str) -> list[str]:
    """The per-action part of a type's ``bad`` condition, with the actions whose conditions
    read the same merged, the largest group as the ELSE branch (no CASE at all when every
    action reads the same). A row whose action the type does not take meets that ELSE
    branch, but it is bad anyway: the type-level check action_not_allowed (or the core
    check invalid_action) fails."""
    groups: dict[str, list[str]] = {}
    for action, body in bodies.items():
        groups.setdefault(body, []).append(action)
    if not groups:
        return []
    rest = max(groups, key=lambda body: len(groups[body]))
    whens = [f"WHEN action IN {lit_set(actions)} THEN {body}" for body, actions in groups.items() if body != rest]
    if not whens:
        return [] if rest == empty else [rest]
    return [f"CASE {' '.join(whens)} ELSE {rest} END"]


# -- staging --------------------------------------------------------------------------------


def stage_select(source: Source, catalog: Catalog, table: str) -> str:
    """SELECT over an input chunk giving every core and attribute column as text (NULL when
    empty; codes trimmed, names and document numbers verbatim), plus ``_rn`` (ordinal),
    ``_line`` (physical line, provisional for irregular CSV), ``_extra`` (unknown keys),
    ``_parse_error`` and ``_given`` (the attributes given, see ``given_bits``)."""
    attrs = attribute_names(catalog)
    names = list(CORE_COLUMNS) + attrs
    if source.format == "jsonl":
        return f"SELECT *, {given_sql(attrs)} AS _given FROM ({_jsonl_select(attrs, table)})"
    # CSV and Parquet chunks arrive normalised (see pipeline.prepare_chunk), with every
    # column present and the identity columns added.
    line = "_rn + 2" if source.format == "csv" else "_rn + 1"
    cols = ", ".join(ident(name) for name in names)
    ids = "s_code, s_person, s_org, s_birth, p_code, p_person, _given"
    return (
        f"SELECT _rn, {line} AS _line, {cols}, {ids}, "
        f"CAST(NULL AS VARCHAR[]) AS _extra, CAST(NULL AS VARCHAR) AS _parse_error FROM {table}"
    )


def _jsonl_select(attrs: list[str], table: str) -> str:
    cols = []
    for name in CORE_COLUMNS:
        value = f"json_extract_string(line, {lit('$.' + name)})"
        if name not in VERBATIM:
            value = f"trim({value})"
        cols.append(f"CASE WHEN _ok THEN nullif({value}, '') END AS {ident(name)}")
    for name in attrs:
        path = lit(f"$.attrs.{name}")
        value = (
            f"CASE WHEN json_type(line, {path}) = 'ARRAY' "
            f"THEN array_to_string(CAST(json_extract_string(line, {path} || '[*]') AS VARCHAR[]), ';') "
            f"ELSE json_extract_string(line, {path}) END"
        )
        cols.append(f"CASE WHEN _ok THEN nullif(trim({value}), '') END AS {ident(name)}")
    known_top = lit_list([*CORE_COLUMNS, "attrs"])
    known_attrs = lit_list(attrs)
    extra = (
        "CASE WHEN _ok THEN list_concat("
        f"list_filter(json_keys(line), lambda k: NOT list_contains({known_top}, k)), "
        "CASE WHEN json_type(line, '$.attrs') = 'OBJECT' THEN list_transform("
        f"list_filter(json_keys(line, '$.attrs'), lambda k: NOT list_contains({known_attrs}, k)), "
        "lambda k: 'attrs.' || k) END) END"
    )
    not_json, not_object = UNPARSABLE
    parse_error = (
        f"CASE WHEN NOT _valid THEN {lit(not_json)} WHEN NOT _ok THEN {lit(not_object)} "
        "WHEN json_type(line, '$.attrs') NOT IN ('OBJECT', 'NULL') THEN 'attrs must be a JSON object' END"
    )
    return (
        f"SELECT _rn, _rn + 1 AS _line, {', '.join(cols)}, {extra} AS _extra, "
        f"{parse_error} AS _parse_error FROM ("
        "SELECT _rn, line, json_valid(line) AS _valid, "
        "CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE FALSE END AS _ok "
        f"FROM {table} WHERE line IS NOT NULL AND trim(line) <> '')"
    )


# -- typed values ---------------------------------------------------------------------------


def typed_value(name: str, spec: AttributeSpec, col: str | None = None) -> str:
    """SQL giving the typed value of a text attribute column (NULL when absent or invalid)."""
    col = col or ident(name)
    if spec.type == "integer":
        return f"CASE WHEN regexp_matches({col}, {lit(_INT_RE)}) THEN TRY_CAST({col} AS BIGINT) END"
    if spec.type == "number":
        return f"CASE WHEN regexp_matches({col}, {lit(_NUM_RE)}) THEN TRY_CAST({col} AS DOUBLE) END"
    if spec.type == "date":
        return f"CASE WHEN regexp_matches({col}, {lit(_DATE_RE)}) THEN TRY_CAST({col} AS DATE) END"
    if spec.type == "boolean":
        return (
            f"CASE lower({col}) WHEN 'true' THEN TRUE WHEN '1' THEN TRUE WHEN 'yes' THEN TRUE "
            "WHEN 'false' THEN FALSE WHEN '0' THEN FALSE WHEN 'no' THEN FALSE END"
        )
    if spec.type == "list":
        return f"list_filter(list_transform(string_split({col}, ';'), lambda x: trim(x)), lambda x: x <> '')"
    if spec.type == "identity":
        return "p_code"
    return col


def json_value(name: str, spec: AttributeSpec, typed: Mapping[str, str] | None = None) -> str:
    """SQL giving the attribute as a JSON value for the stored ``attrs`` (``typed``: see
    ``typed_columns``)."""
    value = _typed_sql(name, spec, typed)
    if spec.type == "date":
        return f"CAST({value} AS VARCHAR)"
    return value


_COMPUTED = ("integer", "number", "date", "boolean")
"""Attribute types whose typed value is computed from the text (see ``typed_columns``)."""


def typed_columns(catalog: Catalog) -> dict[str, str]:
    """The typed values the checks of a record type compute from attribute text (integers,
    numbers, dates, booleans), each with a column alias: a query computes each one once per
    row under its alias instead of once per check that reads it."""
    out: dict[str, str] = {}
    for rt in catalog.record_types.values():
        for action in ["create", *rt.follow_ups]:
            for name, spec in attrs_for(rt, action).items():
                if spec.type in _COMPUTED:
                    out.setdefault(typed_value(name, spec), f"_tv{len(out)}")
    return out


def _typed_sql(name: str, spec: AttributeSpec, typed: Mapping[str, str] | None) -> str:
    """``typed_value``, or its alias in ``typed`` (see ``typed_columns``)."""
    value = typed_value(name, spec)
    return typed.get(value, value) if typed else value


GIVEN_BITS = 63
"""Most attributes the ``_given`` bit set can describe (one BIGINT)."""


def given_bits(catalog: Catalog) -> dict[str, int] | None:
    """Bit of every attribute in ``_given``, the BIGINT whose bit i is set when the row gives
    attribute i (``attribute_names`` order); None when there are too many attributes."""
    names = attribute_names(catalog)
    return {n: 1 << i for i, n in enumerate(names)} if len(names) <= GIVEN_BITS else None


def given_sql(names: Sequence[str]) -> str:
    """SQL computing ``_given`` from the attribute columns ``names`` (in bit order); NULL
    when there are too many (the checks then test the columns one by one)."""
    if len(names) > GIVEN_BITS:
        return "CAST(NULL AS BIGINT)"
    if not names:
        return "CAST(0 AS BIGINT)"
    terms = " + ".join(f"CASE WHEN {ident(n)} IS NOT NULL THEN {1 << i} ELSE 0 END" for i, n in enumerate(names))
    return f"CAST({terms} AS BIGINT)"


def condition_sql(
    name: str,
    cond: Condition,
    spec: AttributeSpec,
    value_sql: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> str:
    """SQL that is true when the attribute satisfies the catalog condition."""
    value = value_sql or _typed_sql(name, spec, typed)
    if cond.present is not None:
        return f"({value} IS {'NOT ' if cond.present else ''}NULL)"
    items = cond.in_ if cond.in_ is not None else cond.not_in
    assert items is not None
    non_null = [v for v in items if v is not None]
    has_null = len(non_null) != len(items)
    member = f"({value} IN ({', '.join(lit(v) for v in non_null)}))" if non_null else "FALSE"
    test = f"(coalesce({member}, FALSE) OR {value} IS NULL)" if has_null else f"coalesce({member}, FALSE)"
    return test if cond.in_ is not None else f"(NOT {test})"


def attrs_for(rt: RecordType, action: str) -> dict[str, AttributeSpec]:
    """The attributes a row of this type and action may carry."""
    if action == "create":
        return rt.attributes
    if action == "correct":
        return {n: s.model_copy(update={"required": False}) for n, s in rt.attributes.items()}
    fu = rt.follow_ups.get(action)  # type: ignore[call-overload]
    return fu.attributes if fu is not None else {}


def _attr_checks(name: str, spec: AttributeSpec, aliases: Mapping[str, str] | None) -> list[RowCheck]:
    col = ident(name)
    typed = _typed_sql(name, spec, aliases)
    checks: list[RowCheck] = []
    if spec.required:
        checks.append(RowCheck(f"{col} IS NULL", name, "required", f"{name} is required"))
    present = f"{col} IS NOT NULL"
    value = "{" + name + "}"
    if spec.type in ("integer", "number", "date", "boolean"):
        what = {
            "integer": "a whole number",
            "number": "a number",
            "date": "a real date written YYYY-MM-DD",
            "boolean": "true or false",
        }[spec.type]
        checks.append(
            RowCheck(f"{present} AND {typed} IS NULL", name, "invalid_value", f"{name} must be {what}, got {value}")
        )
    if spec.type in ("integer", "number"):
        if spec.min is not None:
            checks.append(
                RowCheck(
                    f"{typed} < {spec.min!r}",
                    name,
                    "out_of_range",
                    f"{name} is {value}, below the minimum {spec.min:g}",
                )
            )
        if spec.max is not None:
            checks.append(
                RowCheck(
                    f"{typed} > {spec.max!r}",
                    name,
                    "out_of_range",
                    f"{name} is {value}, above the maximum {spec.max:g}",
                )
            )
    if spec.type == "enum" and spec.values:
        checks.append(
            RowCheck(
                f"{col} NOT IN {lit_set(spec.values)}",
                name,
                "invalid_value",
                f"{name} {value} is not one of: {', '.join(spec.values)}",
            )
        )
    if spec.type == "list" and spec.items == "action_pattern":
        bad = f"list_filter({typed}, lambda x: NOT regexp_matches(x, {lit(PATTERN_RE.pattern)}))"
        checks.append(
            RowCheck(
                f"{present} AND (len({bad}) > 0 OR len({typed}) = 0)",
                name,
                "invalid_value",
                f"{name} must be ;-separated action patterns such as flight.* or rail.g.*, got {value}",
            )
        )
    if spec.type == "list" and spec.items == "enum" and spec.values:
        checks.append(
            RowCheck(
                f"len(list_filter({typed}, lambda x: x NOT IN {lit_set(spec.values)})) > 0",
                name,
                "invalid_value",
                f"{name} holds values outside: {', '.join(spec.values)}",
            )
        )
    if spec.max_length is not None:
        checks.append(
            RowCheck(
                f"strlen({col}) > {spec.max_length} AND length({col}) > {spec.max_length}",
                name,
                "too_long",
                f"{name} is longer than {spec.max_length} characters",
            )
        )
    if spec.type == "identity":
        checks.append(
            RowCheck(
                f"{present} AND NOT coalesce(p_person, FALSE)",
                name,
                "invalid_identity",
                f"{name} {value} is not a valid citizen identity number",
            )
        )
    return checks


def row_checks(catalog: Catalog, today: date, only_source: str | None = None, fast: bool = False) -> CheckPlan:
    """Row-local checks of the staged columns, with ``etype`` the effective record type and
    ``kind`` the subject's kind; ``today`` bounds decision dates; with ``only_source`` (an
    agency's submission) rows of any other source are refused.

    ``fast`` gives the cheaper forms that only ``CheckPlan.bad`` uses: typed attribute values
    read from the ``typed_columns`` aliases, the attributes a row gives from ``_given`` (see
    ``given_bits``), and the type-level source and action checks without the part a core
    check already covers. On every row that passes the core checks each fast check gives the
    verdict of its full form, so ``bad`` is unchanged; the full forms name the failed checks."""
    aliases = typed_columns(catalog) if fast else None
    bits = given_bits(catalog) if fast else None
    sources = lit_set(list(catalog.sources))
    types = lit_set(list(catalog.record_types))
    actions = lit_set(list(ACTIONS))
    core: list[RowCheck] = [
        RowCheck("_parse_error IS NOT NULL", "line", "invalid_json", "{_parse_error}"),
        RowCheck(
            "len(_extra) > 0", "attrs", "unknown_field", "unknown field(s): {_extra} (nothing is dropped silently)"
        ),
    ]
    for name in ("event_id", "source", "decided_on"):
        core.append(RowCheck(f"_parse_error IS NULL AND {ident(name)} IS NULL", name, "required", f"{name} is empty"))
    for name, limit in (
        ("event_id", MAX_KEY),
        ("record_id", MAX_KEY),
        ("subject_name", MAX_TEXT),
        ("document_no", MAX_TEXT),
    ):
        # (the byte length is at hand and bounds the character count, which is counted only
        # for the rare long values)
        core.append(
            RowCheck(
                f"strlen({name}) > {limit} AND length({name}) > {limit}",
                name,
                "too_long",
                f"{name} is longer than {limit} characters",
            )
        )
    if only_source is not None:
        core.append(
            RowCheck(
                f"source IS NOT NULL AND source <> {lit(only_source)}",
                "source",
                "source_not_allowed",
                f"this submission may carry only events of source {only_source}; the row names {{source}}",
            )
        )
    core += [
        RowCheck(f"source NOT IN {sources}", "source", "unknown_source", "source {source} is not in the catalog"),
        RowCheck(
            f"action NOT IN {actions}",
            "action",
            "invalid_action",
            "action {action} is not one of: " + ", ".join(ACTIONS),
        ),
        RowCheck(
            "decided_on IS NOT NULL AND decided IS NULL",
            "decided_on",
            "invalid_date",
            "decided_on {decided_on} is not a real date written YYYY-MM-DD",
        ),
        RowCheck(
            f"decided > DATE '{today}'",
            "decided_on",
            "future_date",
            f"decided_on {{decided_on}} is after today ({today})",
        ),
        RowCheck(
            "action <> 'create' AND record_id IS NULL",
            "record_id",
            "required",
            "record_id is required for {action} events",
        ),
        RowCheck("action = 'create' AND type IS NULL", "type", "required", "type is empty"),
        RowCheck(f"type NOT IN {types}", "type", "unknown_type", "type {type} is not in the catalog"),
        RowCheck("action = 'create' AND subject_id IS NULL", "subject_id", "required", "subject_id is empty"),
        RowCheck(
            "action = 'create' AND trim(coalesce(subject_name, '')) = ''",
            "subject_name",
            "required",
            "subject_name is empty",
        ),
        RowCheck(
            "subject_id IS NOT NULL AND s_code IS NULL",
            "subject_id",
            "invalid_subject_id",
            "subject_id {subject_id} is neither a valid citizen identity number nor a valid unified social credit code",
        ),
        RowCheck(
            "subject_kind NOT IN ('person', 'organisation')",
            "subject_kind",
            "invalid_value",
            "subject_kind must be person or organisation, got {subject_kind}",
        ),
        RowCheck(
            "s_code IS NOT NULL AND subject_kind IS NOT NULL AND kind IS NULL",
            "subject_kind",
            "subject_kind_mismatch",
            "subject_id {s_code} is not a valid {subject_kind} code",
        ),
        RowCheck(
            "amount IS NOT NULL AND amount_v IS NULL",
            "amount",
            "invalid_value",
            "amount must be a number with at most 2 decimals (no thousands separators), got {amount}",
        ),
        RowCheck("amount_v < 0", "amount", "out_of_range", "amount must not be negative, got {amount}"),
        RowCheck(
            "quantity IS NOT NULL AND quantity_v IS NULL",
            "quantity",
            "invalid_value",
            "quantity must be a number, got {quantity}",
        ),
        RowCheck("quantity_v <= 0", "quantity", "out_of_range", "quantity must be positive, got {quantity}"),
    ]
    by_type: dict[str, list[RowCheck]] = {}
    by_action: dict[str, dict[str, list[RowCheck]]] = {}
    all_attrs = attribute_names(catalog)
    for code, rt in catalog.record_types.items():
        allowed_actions = ["create", *rt.follow_ups]
        concerns = " and ".join(k + "s" for k in rt.subjects)
        tchecks = [
            RowCheck(
                # (fast: an unknown source fails the core check unknown_source)
                f"source NOT IN {lit_set(rt.sources)}"
                if fast
                else f"source IN {sources} AND source NOT IN {lit_set(rt.sources)}",
                "source",
                "source_not_allowed",
                "source {source} may not submit " + code + " records (allowed: " + ", ".join(rt.sources) + ")",
            ),
            RowCheck(
                f"kind NOT IN {lit_set(list(rt.subjects))}",
                "subject_id",
                "subject_kind_not_allowed",
                "{s_code} identifies a subject of kind {kind}; " + code + " concerns " + concerns + " only",
            ),
            RowCheck(
                # (fast: an unknown action fails the core check invalid_action)
                f"action NOT IN {lit_set(allowed_actions)}"
                if fast
                else f"action NOT IN {lit_set(allowed_actions)} AND action IN {actions}",
                "action",
                "action_not_allowed",
                code + " records take no {action} events (allowed: " + ", ".join(allowed_actions) + ")",
            ),
        ]
        if rt.quantity == "required":
            tchecks.append(
                RowCheck(
                    "action = 'create' AND quantity IS NULL", "quantity", "required", f"quantity is required for {code}"
                )
            )
        if rt.quantity == "forbidden":
            tchecks.append(
                RowCheck("quantity IS NOT NULL", "quantity", "not_allowed", f"{code} records carry no quantity")
            )
        if rt.amount == "required":
            tchecks.append(
                RowCheck("action = 'create' AND amount IS NULL", "amount", "required", f"amount is required for {code}")
            )
        if rt.amount == "forbidden":
            tchecks.append(RowCheck("amount IS NOT NULL", "amount", "not_allowed", f"{code} records carry no amount"))
        if catalog.points and code in catalog.points.items and catalog.points.items[code].per == "quantity":
            tchecks.append(
                RowCheck(
                    "quantity_v <> floor(quantity_v)",
                    "quantity",
                    "invalid_value",
                    f"quantity of {code} counts whole units, got {{quantity}}",
                )
            )
        for bar in rt.bars:
            if bar.rule == "min_age" and bar.years:
                tchecks.append(
                    RowCheck(
                        f"action = 'create' AND kind = 'person' AND s_birth + INTERVAL '{bar.years} years' > decided",
                        "subject_id",
                        "minor",
                        "the subject (born {s_birth}) was a minor on {decided_on}; "
                        f"a person under {bar.years} may not be recorded as {code}",
                    )
                )
        by_type[code] = tchecks
        by_action[code] = {}
        for action in allowed_actions:
            specs = attrs_for(rt, action)
            achecks: list[RowCheck] = []
            for name, spec in specs.items():
                achecks.extend(_attr_checks(name, spec, aliases))
            others = [a for a in all_attrs if a not in specs]
            if others:
                achecks.append(
                    RowCheck(
                        f"(_given & {sum(bits[a] for a in others)}) <> 0"
                        if bits is not None
                        else " OR ".join(f"{ident(a)} IS NOT NULL" for a in others),
                        "attrs",
                        "attribute_not_allowed",
                        f"{code} {action} events take no attribute(s) other than: " + (", ".join(specs) or "none"),
                    )
                )
            if action == "create":
                for con in rt.constraints:
                    when = " AND ".join(
                        condition_sql(n, c, rt.attributes[n], typed=aliases) for n, c in con.when.items()
                    )
                    then = " AND ".join(
                        condition_sql(n, c, rt.attributes[n], typed=aliases) for n, c in con.then.items()
                    )
                    achecks.append(RowCheck(f"{when} AND NOT ({then})", "attrs", con.code, con.message))
            by_action[code][action] = achecks
    return CheckPlan(core, by_type, by_action)


def attrs_json(catalog: Catalog, typed: Mapping[str, str] | None = None) -> str:
    """SQL building the stored ``attrs`` JSON text of a row from its effective type and action:
    only the attributes given (NULL for rows of types without attributes); ``typed``: see
    ``typed_columns``. The text is the compact JSON object of the given attributes in catalog
    order (as ``json_object`` writes it), assembled from ``"name":value`` members: an
    attribute not given is NULL and ``concat_ws`` leaves it out."""
    branches = []
    for code, rt in catalog.record_types.items():
        inner = []
        for action in ["create", *rt.follow_ups]:
            specs = attrs_for(rt, action)
            if specs:
                members = ", ".join(
                    f"{lit(json.dumps(n) + ':')} || to_json({json_value(n, s, typed)})" for n, s in specs.items()
                )
                inner.append(f"WHEN {lit(action)} THEN '{{' || concat_ws(',', {members}) || '}}'")
        if inner:
            branches.append(f"WHEN {lit(code)} THEN CASE action {' '.join(inner)} END")
    return f"CASE etype {' '.join(branches)} END" if branches else "CAST(NULL AS VARCHAR)"

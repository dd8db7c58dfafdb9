"""The derivation as SQL steps generated from the catalog.

``steps(catalog, as_of)`` returns named SELECT statements, each reading the ones before it.
Their inputs are the relations ``ev`` (events of the subjects in scope, valid and known on the
date) and ``workdays`` (the working-day calendar). The SQL is plain (joins, group-bys,
windows): it runs for one subject on the fly or for every subject at once, and keeps to what
PostgreSQL and Spark also offer.

Dates are half-open intervals ``[start, end)``: a record is in a list on day d when
``start <= d < end`` (``end`` NULL: no end yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from socialcredit.catalog.models import Catalog, ListSpec, TermCase
from socialcredit.ingest.sqlgen import condition_sql, lit, typed_value
from socialcredit.store.migrations import RECORD_FIELDS

RETENTION = "retention_until"
# a day later than any end: an open end (NULL) compares as this day
NEVER = date(9999, 12, 31)


@dataclass(frozen=True)
class Step:
    """One relation of the derivation (a view when it is read only once)."""

    name: str
    sql: str
    view: bool = False


def _d(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _attr(catalog: Catalog, name: str) -> str:
    """SQL for a typed attribute of the merged record attributes (``attrs``)."""
    for rt in catalog.record_types.values():
        spec = rt.attributes.get(name)
        if spec is not None:
            if spec.type == "list":
                return f"CAST(json_extract(attrs, {lit('$.' + name)}) AS VARCHAR[])"
            cast = {"integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}.get(spec.type)
            value = f"json_extract_string(attrs, {lit('$.' + name)})"
            return f"TRY_CAST({value} AS {cast})" if cast else value
    raise KeyError(name)


def _plus(expr: str, period_sql: str) -> str:
    return f"CAST({expr} + {period_sql} AS DATE)"


def type_numbers(catalog: Catalog) -> dict[str, int]:
    """A number per record type (its place in code order), which a grouping carries more cheaply
    than the type's name."""
    return {code: i for i, code in enumerate(sorted(catalog.record_types))}


def followups_step(catalog: Catalog) -> Step:
    """Per record with follow-ups: amendments in log order and the dates of the others. Follow-ups
    are grouped by ``record_seq``, the seq of their record's create, so that records join on one
    integer. The dated follow-ups (revocation, performance, deletion, repair), nearly all of
    them, go through one grouping of plain minimums; only the amendments (corrections and
    extensions, rare) go through the grouping with lists and ``arg_max``, which costs several
    times as much per row, and are joined to it.

    The record's type is carried as its number (``type_no``, see ``type_numbers``; NULL for a
    type the catalog no longer has), and each date is the minimum of a CASE rather than a
    filtered minimum: at 13.6M events the grouping took 0.24 s instead of 0.37 s."""
    numbers = ", ".join(f"({lit(t)}, {n})" for t, n in type_numbers(catalog).items()) or "(NULL, NULL)"

    def first(action: str, value: str = "decided_on") -> str:
        return f"CASE WHEN action = {lit(action)} THEN {value} END"

    return Step(
        "fu",
        f"""
        WITH f AS (SELECT * FROM ev WHERE action <> 'create'),
        d AS (
            SELECT record_seq, any_value(tn.type_no) AS type_no,
                   min({first("revoke")}) AS revoked_on,
                   min({first("perform")}) AS performed_on,
                   min({first("delist")}) AS delisted_on,
                   -- (arg_min skips the rows whose date is NULL: those of other actions)
                   arg_min({first("delist", "json_extract_string(attrs, '$.reason')")}, {first("delist")})
                       AS delist_reason,
                   min({first("repair")}) AS repaired_on
            FROM f LEFT JOIN (VALUES {numbers}) AS tn(type, type_no) ON tn.type = f.type
            GROUP BY record_seq
        ),
        a AS (
            SELECT record_seq,
                   list_transform(list_sort(list({{'s': seq, 'a': attrs}})
                       FILTER (WHERE action = 'correct' AND attrs IS NOT NULL)), lambda x: x.a) AS corrections,
                   arg_max(amount, seq) FILTER (WHERE action = 'correct' AND amount IS NOT NULL) AS amount_fix,
                   arg_max(quantity, seq) FILTER (WHERE action = 'correct' AND quantity IS NOT NULL) AS quantity_fix,
                   arg_max(json_extract_string(attrs, '$.extension_years'), seq) FILTER (WHERE action = 'extend')
                       AS extended_to
            FROM f WHERE action IN ('correct', 'extend') GROUP BY record_seq
        )
        SELECT d.record_seq, d.type_no, a.corrections, a.amount_fix, a.quantity_fix, a.extended_to,
               d.revoked_on, d.performed_on, d.delisted_on, d.delist_reason, d.repaired_on
        FROM d LEFT JOIN a USING (record_seq)
        """,
    )


def history_step() -> Step:
    """Every event of every record, for explanations of one subject."""
    return Step(
        "hist",
        """
        SELECT coalesce(record_seq, seq) AS record_seq,
               list({'action': action, 'event_id': event_id, 'decided_on': decided_on,
                     'document_no': document_no, 'seq': seq} ORDER BY seq) AS history
        FROM ev GROUP BY ALL
        """,
    )


def records_step(
    catalog: Catalog, with_history: bool, types: list[str] | None = None, subjects: str | None = None
) -> Step:
    """One row per record: its create joined with its follow-ups, attributes amended (corrections
    in log order, then the latest extension). With ``types``, only the records of those types
    (and only their follow-ups are joined); with ``subjects`` (a relation with one row per
    ``subject_id``, an integer ``subject_key`` unique to it and ``subject_hash``, the code's
    ``hash``), only the records of those subjects, with their key.

    The subjects are joined on the code's hash as well as on the code. Joined on the code
    alone, DuckDB pushes a Bloom filter of the subjects into the scan of the log, which then
    hashes the code of every create it reads: at 113M events, with 3M consented subjects, that
    scan cost 6.6 CPU-s where the scan without the filter and the larger join after it cost
    3.8 and 4.8 CPU-s instead of 6.6 and 3.8 (``pts`` 7.9-8.2 s instead of 8.7-8.9 s). The
    hash is an expression, so no filter is pushed; the code stays a join key, so a hash shared
    by two codes changes nothing."""
    merged = (
        "CASE WHEN f.corrections IS NULL OR len(f.corrections) = 0 THEN c.attrs "
        "ELSE list_reduce(list_concat([coalesce(c.attrs, '{}')], f.corrections), "
        "lambda a, b: json_merge_patch(a, b)) END"
    )
    attrs = (
        f"CASE WHEN f.extended_to IS NOT NULL THEN CAST(json_merge_patch(coalesce({merged}, '{{}}'), "
        f"json_object('extension_years', TRY_CAST(f.extended_to AS BIGINT))) AS VARCHAR) "
        f"ELSE CAST({merged} AS VARCHAR) END"
    )
    history = ", h.history" if with_history else ""
    join_history = "LEFT JOIN hist h ON h.record_seq = c.seq" if with_history else ""
    follow = "fu"
    only = ""
    if types is not None:
        follow = f"(SELECT * FROM fu WHERE {of_types(catalog, types)})"
        # (a join with the types, not an IN filter: the join's keys are pushed into the scan of
        # the log, which then reads the other columns only for the rows of those types)
        values = ", ".join(f"({lit(t)})" for t in types) or "(NULL)"
        only = f"JOIN (VALUES {values}) AS only_(type) ON only_.type = c.type"
    key = ""
    if subjects is not None:
        only += (
            f" JOIN {subjects} only_s ON only_s.subject_hash = hash(c.subject_id) AND only_s.subject_id = c.subject_id"
        )
        key = ", only_s.subject_key"
    return Step(
        "rec2",
        f"""
        SELECT c.source, c.record_id, c.type, c.subject_id, c.subject_kind, c.subject_name,
               c.seq AS create_seq, c.event_id, c.decided_on, c.document_no,
               coalesce(f.amount_fix, c.amount) AS amount, coalesce(f.quantity_fix, c.quantity) AS quantity,
               {attrs} AS attrs,
               f.revoked_on, f.performed_on, f.delisted_on, f.delist_reason, f.repaired_on{history}{key}
        FROM ev c {only} LEFT JOIN {follow} f ON f.record_seq = c.seq {join_history}
        WHERE c.action = 'create'
        """,
        view=True,
    )


def _type_properties(catalog: Catalog, scope: set[str] | None) -> str:
    """A VALUES relation of what the windows read per record type (joined once per record, where
    IN lists and CASE chains over the types cost a comparison per type and row)."""
    rows = []
    numbers = type_numbers(catalog)
    for code, rt in catalog.record_types.items():
        if scope is not None and code not in scope:
            continue
        item = catalog.points.items.get(code) if catalog.points is not None else None
        rows.append(
            f"({lit(code)}, {rt.conduct_ends == 'performed'}, {rt.negative}, "
            f"{rt.publication.by == 'severity'}, CAST({'NULL' if item is None else item.points} AS DOUBLE), "
            f"{item is not None and item.per == 'quantity'}, {numbers[code]})"
        )
    if not rows:
        rows.append("(NULL, FALSE, FALSE, FALSE, CAST(NULL AS DOUBLE), FALSE, CAST(NULL AS INTEGER))")
    return f"(VALUES {', '.join(rows)}) AS tp(type, _performed, _negative, _severity, _points, _per_quantity, type_no)"


def type_name(catalog: Catalog, number: str) -> str:
    """The name of the record type numbered ``number`` (see ``type_numbers``): ``rwd`` carries
    only the number, and the few rows that show a type (the records behind the memberships in
    force, exemptions) look its name up in a constant list."""
    names = ", ".join(lit(t) for t in sorted(catalog.record_types))
    return f"([{names}])[{number} + 1]"


def of_types(catalog: Catalog, types: list[str]) -> str:
    """A filter on the record types, by their numbers (``type_no``, carried by the windows and
    ``rwd``): the later steps each select a few types from ``rwd``, and comparing an integer costs
    a quarter of comparing the type's name (0.03 s instead of 0.11 s per pass over ``rwd`` at
    113M events)."""
    numbers = type_numbers(catalog)
    return f"type_no IN ({', '.join(str(numbers[t]) for t in types if t in numbers) or 'NULL'})"


def windows_step(
    catalog: Catalog, as_of: date, name: str = "rw", types: list[str] | None = None, subjects: str | None = None
) -> Step:
    """Per record: whether it is in force, when its conduct ended, its retention limit, its
    publication window (by severity), and the points it gives and until when.

    With ``types``, only the records of those types, and the attributes are read only for what
    those types need: a step that reads no publication window of a type that has one never
    merges a record's corrections."""
    scope = None if types is None else set(types)
    retention = catalog.retention.negative.sql_interval()
    conduct_end = "CASE WHEN _performed THEN performed_on ELSE decided_on END"
    # publication by severity (regime chosen by the finding's date); the severity and the
    # "published" flag are read from the attributes once per row (in the inner projection)
    pub_cases = []
    sev_reads = []
    for code, rt in catalog.record_types.items():
        if rt.publication.by != "severity" or rt.publication.severity_attribute is None:
            continue
        if scope is not None and code not in scope:
            continue
        sev_reads.append(f"WHEN {lit(code)} THEN {_attr(catalog, rt.publication.severity_attribute)}")
        sev = "_sev"
        published_attr = "_published"
        for regime in catalog.publication_regimes.values():
            lo = f"decided_on >= {_d(regime.effective_from)}" if regime.effective_from else "TRUE"
            hi = f"decided_on <= {_d(regime.effective_until)}" if regime.effective_until else "TRUE"
            for severity, periods in regime.severities.items():
                shown = "TRUE" if periods.published else published_attr
                pub_cases.append(
                    f"WHEN type = {lit(code)} AND {lo} AND {hi} AND {sev} = {lit(severity)} AND {shown} "
                    f"THEN {_plus('decided_on', periods.maximum.sql_interval())}"
                )
    pub_max = f"CASE {' '.join(pub_cases)} END" if pub_cases else "CAST(NULL AS DATE)"
    severity_types = [
        c for c, rt in catalog.record_types.items() if rt.publication.by == "severity" and (scope is None or c in scope)
    ]
    pm = catalog.points
    props = _type_properties(catalog, scope)
    points = "CASE WHEN _per_quantity THEN _points * coalesce(quantity, 1) ELSE _points END"
    positive_until = _plus("decided_on", pm.positive_validity.sql_interval()) if pm else "NULL"
    sev_read = f"CASE type {' '.join(sev_reads)} END" if sev_reads else "CAST(NULL AS VARCHAR)"
    published = (
        "CASE WHEN _severity THEN coalesce(TRY_CAST(json_extract_string(attrs, '$.published') AS BOOLEAN), FALSE) END"
        if severity_types
        else "CAST(NULL AS BOOLEAN)"
    )
    records = "rec2" if types is None else f"({records_step(catalog, False, types, subjects).sql})"
    return Step(
        name,
        f"""
        SELECT * EXCLUDE (_severity),
               CASE WHEN pub_max IS NOT NULL
                    THEN least(pub_max, repaired_on, delisted_on, {RETENTION}) END AS published_until,
               CASE WHEN points IS NULL THEN NULL
                    WHEN points >= 0 THEN {positive_until}
                    WHEN _severity
                    THEN least(coalesce(pub_max, decided_on), repaired_on, delisted_on, {RETENTION})
                    ELSE least({RETENTION}, repaired_on, delisted_on) END AS points_until
        FROM (
            SELECT * EXCLUDE (_sev, _published, _performed, _negative, _points, _per_quantity),
                   {conduct_end} AS conduct_ended,
                   CASE WHEN _negative THEN {_plus(conduct_end, retention)} END AS {RETENTION},
                   {pub_max} AS pub_max,
                   CAST({points} AS DOUBLE) AS points
            FROM (
                SELECT *, {sev_read} AS _sev, {published} AS _published
                FROM {records} LEFT JOIN {props} USING (type) WHERE revoked_on IS NULL
            )
        )
        """,
        view=True,
    )


def exemption_types(catalog: Catalog) -> list[str]:
    """Record types that lift a measure for the actions they name."""
    return sorted({t for m in catalog.measures.values() for t in m.exemptions})


def role_types(catalog: Catalog) -> list[str]:
    """Record types that say who holds a role in an organisation."""
    return sorted({m.role_type for m in catalog.measures.values() if m.role_type})


def detail_types(catalog: Catalog) -> list[str]:
    """Record types that later steps read record by record: those entering a list, consents,
    role records and exemptions. The others count only through their points."""
    out = {t for lst in catalog.lists.values() for t in lst.record_types}
    if catalog.points is not None:
        out.add(catalog.points.consent_type)
    out.update(role_types(catalog), exemption_types(catalog))
    return sorted(out)


def records_list(source: str, subject: str, list_: str) -> str:
    """The records behind the membership of ``subject`` in ``list_`` as one value (a scalar
    subquery): a list of structs with the fields of ``RECORD_FIELDS``, sorted by the start of
    the record's window, then by its other fields. ``source`` holds one row per record behind a
    membership: ``memb_rec_all`` of a derivation, or the stored ``d_membership_records``."""
    flat = "{'s': r.start, " + ", ".join(f"'{f}': r.{f}" for f, _ in RECORD_FIELDS if f != "start") + "}"
    unflat = "{" + ", ".join(f"'{f}': x.{'s' if f == 'start' else f}" for f, _ in RECORD_FIELDS) + "}"
    return (
        f"(SELECT list_transform(list_sort(list({flat})), lambda x: {unflat}) "
        f"FROM {source} r WHERE r.subject_id = {subject} AND r.list = {list_})"
    )


def measure_records(source: str) -> str:
    """The records behind a measure ``m``: those of the membership it comes from (for a person
    reached through a role, the organisation's), read from ``source`` (see ``records_list``)."""
    return records_list(source, "coalesce(m.via_organisation, m.subject_id)", "m.list")


# the columns of ``rwd`` that later steps read (list windows, repeat offences, consents, roles,
# exemptions, next-change dates); the amounts, points and publication ends are not among them,
# and the type is kept as its number (``type_no``; each column of ``rwd`` costs about a tenth of
# making it, at 13.6M events). ``{names}`` is the subject's name, which only the role records
# need (the organisation's name).
DETAIL_COLUMNS = (
    "source, record_id, type_no, subject_id, subject_kind, {names}, create_seq, event_id, decided_on, "
    f"document_no, attrs, performed_on, delisted_on, repaired_on, {RETENTION}"
)


def details_step(catalog: Catalog, as_of: date) -> Step:
    """``rwd``: the records of ``detail_types`` with their windows (as in ``rw``), materialised
    with the columns later steps read; the rest of the log (most of it, in a city: points
    only) is never copied record by record. The subject's name is kept for role records only
    (the name of the organisation a measure reaches a person through): the other rows carry
    NULL, which stores for nearly nothing (rwd took 11% less time at 13.6M events)."""
    windows = windows_step(catalog, as_of, "rwd", detail_types(catalog)).sql
    names = f"CASE WHEN {of_types(catalog, role_types(catalog))} THEN subject_name END AS subject_name"
    return Step("rwd", f"SELECT {DETAIL_COLUMNS.format(names=names)} FROM ({windows})")


def point_types(catalog: Catalog) -> list[str]:
    """Record types that give points."""
    return sorted(catalog.points.items) if catalog.points is not None else []


def consent_step(catalog: Catalog, as_of: date) -> Step:
    """``consent``: per subject with a consent to scoring in force on ``as_of`` (decided, not
    withdrawn), the latest such consent (by decision date, then log order)."""
    assert catalog.points is not None
    d = _d(as_of)
    return Step(
        "consent",
        f"""
        SELECT subject_id, latest.r AS record_id, latest.n AS document_no, latest.d AS decided_on,
               latest.q AS consent_seq
        FROM (
            -- (one maximum of a struct ordered by date, then log order, instead of an arg_max
            -- per column)
            SELECT subject_id, max({{'d': decided_on, 'q': create_seq, 'r': record_id, 'n': document_no}}) AS latest
            FROM rwd WHERE {of_types(catalog, [catalog.points.consent_type])} AND decided_on <= {d}
              AND (delisted_on IS NULL OR delisted_on > {d})
            GROUP BY subject_id
        )
        """,
    )


def points_step(catalog: Catalog, as_of: date) -> Step:
    """``pts``: per subject with a consent in force (``consent``), the sum of the points in force
    on ``as_of`` and the first day after it on which a point record stops counting, in one pass
    over the point records. Points make nothing but a score, and a score exists only under a
    consent: the records of other subjects are dropped by the join with the consents, before
    their follow-ups are joined (about half the point records of the synthetic city), and their
    expiry is no change to catch up on.

    The records are grouped by their subject's consent (``consent_seq``, one integer per
    subject), not by the identity code: grouping on an integer costs less than half as much."""
    d = _d(as_of)
    subjects = "(SELECT subject_id, consent_seq AS subject_key, hash(subject_id) AS subject_hash FROM consent)"
    return Step(
        "pts",
        f"""
        SELECT k.subject_id, k.consent_seq, p.points_in_force, p.next_points
        FROM (
            SELECT subject_key,
                   sum(points) FILTER (WHERE decided_on <= {d} AND (points_until IS NULL OR {d} < points_until))
                       AS points_in_force,
                   min(points_until) FILTER (WHERE points_until > {d}) AS next_points
            FROM ({windows_step(catalog, as_of, "rwp", point_types(catalog), subjects).sql})
            GROUP BY subject_key
        ) p JOIN consent k ON k.consent_seq = p.subject_key
        """,
    )


def _term_sql(catalog: Catalog, code: str, lst: ListSpec, term: TermCase, index: int) -> str:
    """One term case of a list: the windows of its records."""
    entry = [catalog.record_types[t] for t in lst.record_types]
    when = (
        " AND ".join(condition_sql(n, c, entry[0].attributes[n], _attr(catalog, n)) for n, c in term.when.items())
        or "TRUE"
    )
    base = "decided_on"
    if term.delay_attribute:
        delay = _attr(catalog, term.delay_attribute)
        base = f"CAST(decided_on + to_months(CAST(coalesce({delay}, 0) AS INTEGER)) AS DATE)"
    if term.start == "publication_end":
        n = term.publication_working_days or 1
        # the n-th working day counting the first working day on or after base; start the day after
        start = (
            f"(SELECT CAST(w2.day + INTERVAL 1 DAY AS DATE) FROM workdays w1 JOIN workdays w2 "
            f"ON w2.wd_seq = w1.wd_seq - CASE WHEN w1.is_workday THEN 1 ELSE 0 END + {n} AND w2.is_workday "
            f"WHERE w1.day = {base})"
        )
        term_from = "start"
    else:
        start = base
        term_from = "decided_on"
    ends = [RETENTION]
    if term.duration is not None:
        duration = f"{term_from} + {term.duration.sql_interval()}"
        if term.extension_attribute:
            duration += f" + to_years(CAST(coalesce({_attr(catalog, term.extension_attribute)}, 0) AS INTEGER))"
        ends.append(f"CAST({duration} AS DATE)")
    for action in term.ends_on:
        column = {"delist": "delisted_on", "perform": "performed_on", "repair": "repaired_on"}.get(action)
        if column:
            ends.append(column)
    if term.until_performed:
        after = "CAST(performed_on + INTERVAL 1 DAY AS DATE)"
        if term.repeat is not None:
            after = (
                f"CASE WHEN offence_no >= {term.repeat.count} "
                f"THEN {_plus('performed_on', term.repeat.after_perform.sql_interval())} "
                "ELSE CAST(performed_on + INTERVAL 1 DAY AS DATE) END"
            )
        ends.append(after)
    offence = "NULL AS offence_no"
    source = "rwd"
    if term.repeat is not None:
        source = repeat_name(code, index)
        offence = "offence_no"
    return (
        f"SELECT create_seq, subject_id, subject_kind, "
        f"{lit(code)} AS list, {index} AS term, start, least({', '.join(ends)}) AS until, {offence} "
        f"FROM (SELECT *, {start} AS start FROM {source} WHERE {of_types(catalog, lst.record_types)} AND ({when}))"
    )


# the columns of ``rwd`` that a term's windows read (dates, attributes), carried through the
# repeat-offence numbering; the record's identifiers are joined later from ``rwd``
REPEAT_COLUMNS = (
    "create_seq, type_no, subject_id, subject_kind, decided_on, attrs, "
    f"performed_on, delisted_on, repaired_on, {RETENTION}"
)


def repeat_name(code: str, index: int) -> str:
    """Name of the step numbering the offences of a term with a repeat rule."""
    return f"rw_repeat_{code.replace('.', '_')}_{index}"


def repeat_steps(catalog: Catalog) -> list[Step]:
    """For terms with a repeat rule: number each offence within its run of offences, counted
    from the earliest earlier offence repaid within ``within`` before it.

    The count comes from two window numbers per subject: ``_rn``, the offence's place in
    (decided_on, create_seq) order, and ``_rk``, one more than the number of offences decided
    on an earlier day. The offences from the run's first day up to this one are then
    ``_rn - _rk(first) + 1``, where ``first`` is the earliest repaid offence (or this one)."""
    out = []
    for code, lst in catalog.lists.items():
        for i, term in enumerate(lst.terms):
            if term.repeat is None:
                continue
            entry = [catalog.record_types[t] for t in lst.record_types]
            when = (
                " AND ".join(
                    condition_sql(n, c, entry[0].attributes[n], _attr(catalog, n)) for n, c in term.when.items()
                )
                or "TRUE"
            )
            within = term.repeat.within.sql_interval()
            out.append(
                Step(
                    repeat_name(code, i),
                    f"""
                    WITH o AS (
                        SELECT {REPEAT_COLUMNS},
                               row_number() OVER (PARTITION BY subject_id ORDER BY decided_on, create_seq) AS _rn,
                               rank() OVER (PARTITION BY subject_id ORDER BY decided_on) AS _rk
                        FROM rwd WHERE {of_types(catalog, lst.record_types)} AND ({when})
                    ),
                    firsts AS (
                        SELECT r.create_seq, min(p._rk) AS first_rk
                        FROM o r JOIN o p ON p.subject_id = r.subject_id
                         AND (p.decided_on, p.create_seq) < (r.decided_on, r.create_seq)
                         AND p.performed_on IS NOT NULL AND p.performed_on >= CAST(r.decided_on - {within} AS DATE)
                        GROUP BY r.create_seq
                    )
                    SELECT o.* EXCLUDE (_rn, _rk), o._rn - coalesce(f.first_rk, o._rk) + 1 AS offence_no
                    FROM o LEFT JOIN firsts f USING (create_seq)
                    """,
                )
            )
    return out


def windows_union(catalog: Catalog, after: date | None = None) -> Step:
    """Every record's window in every list it enters (legal-finding lists). A window names its
    record by ``create_seq``; the record's details (identifiers, document, dates) are joined
    from ``rwd`` only for the windows in force, when the memberships are built. With ``after``,
    only the windows not ended by that day (those in force, and those still to open or close:
    nothing else reads an ended window)."""
    parts = []
    for code, lst in catalog.lists.items():
        if lst.basis != "legal_finding":
            continue
        for i, term in enumerate(lst.terms):
            parts.append(_term_sql(catalog, code, lst, term, i))
    sql = " UNION ALL ".join(parts) if parts else "SELECT NULL WHERE FALSE"
    # kept: ``until IS NULL OR (start < until AND until > after)``, written so that ``until``
    # appears once: the filter is pushed into each term, where ``until`` is an expression (with
    # attributes read from JSON) that would be evaluated once per mention. A window without a
    # start (a day outside the calendar) is kept only without an end, as before.
    first_day_out = f"greatest(start, {_d(after)})" if after is not None else "start"
    return Step(
        "win",
        f"SELECT * FROM ({sql}) WHERE coalesce(until, {_d(NEVER)}) >= "
        f"CASE WHEN start IS NULL THEN {_d(NEVER)} ELSE CAST({first_day_out} + INTERVAL 1 DAY AS DATE) END",
    )


def steps(catalog: Catalog, as_of: date, with_history: bool = False, ended_windows: bool = False) -> list[Step]:
    """The derivation for one date, in order (over the events in ``ev``). ``win`` keeps the
    windows that ended before the date only with ``ended_windows`` (for reports over time)."""
    d = _d(as_of)
    out = [followups_step(catalog)]
    if with_history:
        out.append(history_step())
    pm = catalog.points
    out += [records_step(catalog, with_history), windows_step(catalog, as_of), details_step(catalog, as_of)]
    if pm is not None:
        out += [consent_step(catalog, as_of), points_step(catalog, as_of)]
    out += repeat_steps(catalog)
    out.append(windows_union(catalog, None if ended_windows else as_of))
    published_lists = [c for c, lst in catalog.lists.items() if lst.published]

    published = ", ".join(lit(c) for c in published_lists) or "NULL"
    # the list windows in force on the date: one membership per subject and list, one record
    # row per window (a view, read by both)
    out.append(Step("win_now", f"SELECT * FROM win WHERE start <= {d} AND (until IS NULL OR {d} < until)", view=True))
    # (memberships and the records behind them are made apart, as they are stored: a list of
    # records per membership cost a grouping of wide structs and a join per kind of membership;
    # apart, they took about 5 s instead of about 9 s at 113M events, writes included)
    out.append(
        Step(
            "memb",
            f"""
            SELECT subject_id, any_value(subject_kind) AS subject_kind, list, min(start) AS since,
                   CASE WHEN bool_or(until IS NULL) THEN NULL ELSE max(until) END AS until,
                   list IN ({published}) AS published
            FROM win_now GROUP BY subject_id, list
            """,
        )
    )
    # the fields of a record behind a membership (as stored, ``RECORD_FIELDS``): its details from
    # ``rwd r``, then its window (``start``, ``until``)
    columns = {f: f"r.{f}" for f, _ in RECORD_FIELDS} | {"type": type_name(catalog, "r.type_no")}
    columns |= {"start": "w.start", "until": "w.until"}
    fields = ", ".join(f"{columns[f]} AS {f}" for f, _ in RECORD_FIELDS)
    out.append(
        Step(
            "memb_rec",
            f"SELECT w.subject_id, w.list, {fields} FROM win_now w JOIN rwd r ON r.create_seq = w.create_seq",
            view=True,
        )
    )
    if pm is not None:
        bands = " ".join(
            f"WHEN score >= {-(10**9) if g.min is None else g.min} AND score <= {10**9 if g.max is None else g.max} "
            f"THEN {lit(g.grade)}"
            for g in pm.grades
        )
        out.append(
            Step(
                "scores",
                f"""
                SELECT c.subject_id, score, CASE {bands} END AS grade, c.record_id AS consent_record,
                       c.document_no AS consent_document, c.decided_on AS consent_since
                FROM (
                    SELECT c.subject_id, c.record_id, c.document_no, c.decided_on,
                           {pm.base} + coalesce(p.points_in_force, 0) AS score
                    FROM consent c LEFT JOIN pts p ON p.consent_seq = c.consent_seq
                ) c
                """,
            )
        )
        grade_lists = [(c, lst) for c, lst in catalog.lists.items() if lst.basis == "grade"]
        grade_rows = [
            f"SELECT subject_id, 'person' AS subject_kind, {lit(c)} AS list, CAST(NULL AS DATE) AS since, "
            f"CAST(NULL AS DATE) AS until, {lit(lst.published)} AS published FROM scores WHERE grade = {lit(lst.grade)}"
            for c, lst in grade_lists
        ]
        grade_records = [
            f"SELECT subject_id, {lit(c)} AS list, consent_record AS record_id, NULL AS source, "
            f"{lit(pm.consent_type)} AS type, NULL AS event_id, consent_document AS document_no, "
            f"consent_since AS decided_on, NULL AS start, NULL AS until FROM scores WHERE grade = {lit(lst.grade)}"
            for c, lst in grade_lists
        ]
        out.append(Step("memb_all", " UNION ALL ".join(["SELECT * FROM memb", *grade_rows]), view=True))
        out.append(Step("memb_rec_all", " UNION ALL ".join(["SELECT * FROM memb_rec", *grade_records]), view=True))
    else:
        out.append(Step("memb_all", "SELECT * FROM memb", view=True))
        out.append(Step("memb_rec_all", "SELECT * FROM memb_rec", view=True))
    out += measure_steps(catalog, as_of)
    return out


def measure_links(catalog: Catalog, as_of: date) -> list[tuple[str, str, str, str]]:
    """(memorandum, list, measure, kind) for every measure a list brings through a memorandum
    in force on ``as_of``."""
    return [
        (mcode, lcode, meas, catalog.measures[meas].kind)
        for mcode, mou in catalog.memoranda.items()
        if mou.effective_from <= as_of and (mou.effective_until is None or mou.effective_until >= as_of)
        for lcode in mou.lists
        for meas in mou.measures
    ]


def measure_steps(catalog: Catalog, as_of: date) -> list[Step]:
    """Measures through memoranda in force, reaching role holders; exemptions."""
    d = _d(as_of)
    in_force = measure_links(catalog, as_of)
    rows = [f"({', '.join(lit(v) for v in link)})" for link in in_force]
    links = (
        f"(VALUES {', '.join(rows)}) AS l(memorandum, list, measure, kind)"
        if rows
        else "(SELECT NULL AS memorandum, NULL AS list, NULL AS measure, NULL AS kind WHERE FALSE) l"
    )
    direct = Step(
        "direct",
        f"""
        SELECT m.subject_id, m.subject_kind, l.measure, l.kind, l.list, l.memorandum, m.until
        FROM memb_all m JOIN {links} ON l.list = m.list
        """,
        # (a view: stored, these rows are read from the memberships and links, see _write)
        view=True,
    )
    out = [direct]
    role_type = next((m.role_type for m in catalog.measures.values() if m.reaches_roles and m.role_type), None)
    reach = [(c, r) for c, m in catalog.measures.items() for r in m.reaches_roles]
    if role_type is not None and reach:
        pairs = ", ".join(f"({lit(c)}, {lit(r)})" for c, r in reach)
        reaching_lists = {lst for _, lst, m, _ in in_force if catalog.measures[m].reaches_roles}
        reaching = ", ".join(lit(lst) for lst in sorted(reaching_lists)) or "NULL"
        out.append(
            Step(
                "roles",
                f"""
                SELECT subject_id AS organisation, subject_name AS organisation_name,
                       json_extract_string(attrs, '$.person_id') AS person_id,
                       json_extract_string(attrs, '$.role') AS role, record_id AS role_record,
                       document_no AS role_document, decided_on AS role_since
                FROM rwd WHERE {of_types(catalog, [role_type])} AND decided_on <= {d}
                  AND (delisted_on IS NULL OR delisted_on > {d})
                  -- (only the roles in organisations on a list that brings a measure reaching
                  -- role holders: no other role passes a measure on)
                  AND subject_id IN (SELECT subject_id FROM memb_all WHERE subject_kind = 'organisation'
                                     AND list IN ({reaching}))
                """,
            )
        )
        out.append(
            Step(
                "via",
                f"""
                SELECT r.person_id AS subject_id, 'person' AS subject_kind, d.measure, d.kind, d.list,
                       d.memorandum, d.until, r.role AS via_role,
                       r.organisation AS via_organisation, r.organisation_name AS via_organisation_name,
                       r.role_record AS via_record, r.role_document AS via_document
                FROM direct d JOIN roles r ON r.organisation = d.subject_id
                JOIN (VALUES {pairs}) AS p(measure, role) ON p.measure = d.measure AND p.role = r.role
                WHERE d.subject_kind = 'organisation'
                """,
            )
        )
        via_union = " UNION ALL SELECT * FROM via"
    else:
        via_union = ""
    out.append(
        Step(
            "measures",
            f"""
            SELECT *, NULL AS via_role, NULL AS via_organisation, NULL AS via_organisation_name,
                   NULL AS via_record, NULL AS via_document
            FROM direct{via_union}
            """,
            view=True,  # (read by on-the-fly and scoped derives; a stored derive writes only via)
        )
    )
    exempting = exemption_types(catalog)
    if exempting:
        out.append(
            Step(
                "exemptions",
                f"""
                SELECT subject_id, {type_name(catalog, "type_no")} AS type, record_id, document_no, decided_on,
                       TRY_CAST(json_extract_string(attrs, '$.valid_until') AS DATE) AS valid_until,
                       CAST(json_extract(attrs, '$.actions') AS VARCHAR[]) AS actions
                FROM rwd WHERE {of_types(catalog, exempting)} AND decided_on <= {d}
                  AND (TRY_CAST(json_extract_string(attrs, '$.valid_until') AS DATE) IS NULL
                       OR TRY_CAST(json_extract_string(attrs, '$.valid_until') AS DATE) >= {d})
                """,
            )
        )
    return out


def last_reads(plan: list[Step], keep: list[str]) -> dict[int, list[str]]:
    """For each step's position, the tables of the plan that no later step reads (directly or
    through the views it reads) and that ``keep`` does not name: they can be dropped once that
    step has run. A table that nothing reads goes right after it is made."""
    names = [st.name for st in plan]
    reads = {st.name: {n for n in names if n != st.name and re.search(rf"\b{re.escape(n)}\b", st.sql)} for st in plan}
    views = {st.name for st in plan if st.view}

    def closure(name: str, seen: set[str]) -> set[str]:
        for n in reads.get(name, set()) - seen:
            seen.add(n)
            if n in views:
                closure(n, seen)
        return seen

    last = {st.name: i for i, st in enumerate(plan)}
    for i, st in enumerate(plan):
        for n in closure(st.name, set()):
            last[n] = max(last[n], i)
    kept = set(keep)
    for name in keep:
        if name in views:
            kept |= closure(name, set())
    out: dict[int, list[str]] = {}
    for st in plan:
        if not st.view and st.name not in kept:
            out.setdefault(last[st.name], []).append(st.name)
    return out


__all__ = [
    "Step",
    "exemption_types",
    "last_reads",
    "measure_links",
    "measure_records",
    "records_list",
    "role_types",
    "steps",
    "typed_value",
]

"""Semantic checks of a catalog: references, legal bases and the product rules of DESIGN §2.

Each check yields a ``Finding`` located by its path in the catalog; the loader turns paths
into file and line numbers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from socialcredit.catalog.actions import ACTION_RE, matches, pattern_syntax_error
from socialcredit.catalog.models import (
    AttributeSpec,
    Catalog,
    Condition,
    ListSpec,
    RecordType,
    TermCase,
)
from socialcredit.catalog.prohibited import prohibited_category, restricted_category

Parts = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem at a path of the catalog."""

    code: str
    message: str
    path_parts: Parts


def check_catalog(cat: Catalog) -> list[Finding]:
    """Every problem of a structurally valid catalog (empty when it is sound)."""
    return [
        *_codes(cat),
        *_legal_bases(cat),
        *_actions(cat),
        *_record_types(cat),
        *_lists(cat),
        *_measures(cat),
        *_memoranda(cat),
        *_regimes(cat),
        *_points(cat),
    ]


# -- codes ----------------------------------------------------------------------------------

CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def _codes(cat: Catalog) -> Iterator[Finding]:
    """Codes are a public interface: lower-case dotted identifiers."""
    groups: dict[str, Iterable[str]] = {
        "sources": cat.sources,
        "record_types": cat.record_types,
        "lists": cat.lists,
        "measures": cat.measures,
        "memoranda": cat.memoranda,
        "publication_regimes": cat.publication_regimes,
        "roles": cat.roles,
        "legal_bases": cat.legal_bases,
    }
    for section, codes in groups.items():
        for code in codes:
            if not CODE_RE.match(code):
                yield Finding(
                    "invalid_code",
                    f"{code!r} is not a valid code: use lower-case letters, digits and _ in dot-separated parts",
                    (section, code),
                )


# -- legal bases ---------------------------------------------------------------------------


def _cited(cat: Catalog) -> Iterator[tuple[Parts, list[str], bool]]:
    """(path, citations, required) for every item that cites law."""
    for code, src in cat.sources.items():
        yield ("sources", code, "legal_basis"), src.legal_basis, True
    for code, rt in cat.record_types.items():
        yield ("record_types", code, "legal_basis"), rt.legal_basis, True
        for i, con in enumerate(rt.constraints):
            yield ("record_types", code, "constraints", i, "legal_basis"), con.legal_basis, False
        for i, bar in enumerate(rt.bars):
            yield ("record_types", code, "bars", i, "legal_basis"), bar.legal_basis, True
    for code, lst in cat.lists.items():
        yield ("lists", code, "legal_basis"), lst.legal_basis, True
        for i, term in enumerate(lst.terms):
            yield ("lists", code, "terms", i, "legal_basis"), term.legal_basis, False
    for code, m in cat.measures.items():
        yield ("measures", code, "legal_basis"), m.legal_basis, True
    for code, mou in cat.memoranda.items():
        yield ("memoranda", code, "legal_basis"), mou.legal_basis, True
    for code, reg in cat.publication_regimes.items():
        yield ("publication_regimes", code, "legal_basis"), reg.legal_basis, True
    yield ("retention", "legal_basis"), cat.retention.legal_basis, True
    if cat.points is not None:
        yield ("points", "legal_basis"), cat.points.legal_basis, True


def _legal_bases(cat: Catalog) -> Iterator[Finding]:
    for path, refs, required in _cited(cat):
        if required and not refs:
            yield Finding("missing_legal_basis", "no legal basis cited", path)
        for i, ref in enumerate(refs):
            doc = ref.split("#", 1)[0].strip()
            if doc not in cat.legal_bases:
                yield Finding(
                    "unknown_reference",
                    f"legal basis {doc!r} is not defined in legal_bases",
                    (*path, i),
                )


# -- actions -------------------------------------------------------------------------------


def _actions(cat: Catalog) -> Iterator[Finding]:
    for action in cat.actions:
        if not ACTION_RE.match(action):
            yield Finding(
                "invalid_action",
                f"{action!r} is not a dotted action name (a-z, 0-9, _ segments)",
                ("actions", action),
            )


# -- record types --------------------------------------------------------------------------


def _names_of(code: str, rt: RecordType) -> Iterator[tuple[Parts, str, str]]:
    """(path, what, name) for every name of a record type that could reveal a category."""
    base: Parts = ("record_types", code)
    yield base, "record type code", code
    for i, info in enumerate(rt.information):
        yield (*base, "information", i), "information category", info
    specs = [(("attributes",), rt.attributes)] + [
        (("follow_ups", action, "attributes"), fu.attributes) for action, fu in rt.follow_ups.items()
    ]
    for prefix, attrs in specs:
        for name, spec in attrs.items():
            yield (*base, *prefix, name), "attribute", name
            if spec.category:
                yield (*base, *prefix, name, "category"), "attribute category", spec.category


def _check_conditions(
    conds: dict[str, Condition], attrs: dict[str, AttributeSpec], path: Parts, what: str
) -> Iterator[Finding]:
    for name, cond in conds.items():
        spec = attrs.get(name)
        if spec is None:
            yield Finding(
                "unknown_attribute",
                f"{what} tests attribute {name!r}, which the record type does not declare",
                (*path, name),
            )
            continue
        for value in (cond.in_ or []) + (cond.not_in or []):
            problem = _value_problem(spec, value)
            if problem:
                yield Finding("invalid_value", f"{what}: {name} {problem}", (*path, name))


def _value_problem(spec: AttributeSpec, value: Any) -> str | None:
    if value is None:
        return None
    if spec.type == "enum" and spec.values is not None and str(value) not in spec.values:
        return f"value {value!r} is not one of {spec.values}"
    if spec.type == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"value {value!r} is not an integer"
        if spec.min is not None and value < spec.min:
            return f"value {value} is below the minimum {spec.min:g}"
        if spec.max is not None and value > spec.max:
            return f"value {value} is above the maximum {spec.max:g}"
    return None


def _record_types(cat: Catalog) -> Iterator[Finding]:
    for code, rt in cat.record_types.items():
        base: Parts = ("record_types", code)
        for i, src in enumerate(rt.sources):
            if src not in cat.sources:
                yield Finding("unknown_reference", f"source {src!r} is not defined", (*base, "sources", i))
        restricted: list[str] = []
        for path, what, name in _names_of(code, rt):
            category = prohibited_category(name)
            if category:
                yield Finding(
                    "prohibited_category",
                    f"{what} {name!r} is {category} information, which may never be collected "
                    "as credit information (CRIR Art. 14; Shandong Social Credit Regulations Art. 42)",
                    path,
                )
            r = restricted_category(name)
            if r:
                restricted.append(r)
        if restricted and rt.consent != "written":
            yield Finding(
                "consent_required",
                f"holds {', '.join(sorted(set(restricted)))} data, which requires "
                "'consent: written' on the type (CRIR Art. 14 para. 2)",
                (*base, "consent"),
            )
        for action in ("correct", "revoke"):
            if action not in rt.follow_ups:
                yield Finding(
                    "missing_follow_up",
                    f"every record type must accept '{action}' events (due process: errors are "
                    "corrected and wrong records revoked)",
                    (*base, "follow_ups"),
                )
        for i, con in enumerate(rt.constraints):
            yield from _check_conditions(con.when, rt.attributes, (*base, "constraints", i, "when"), "constraint")
            yield from _check_conditions(con.then, rt.attributes, (*base, "constraints", i, "then"), "constraint")
        yield from _bars(cat, code, rt)
        if rt.publication.by == "severity":
            yield from _severity_publication(cat, code, rt)


def _bars(cat: Catalog, code: str, rt: RecordType) -> Iterator[Finding]:
    base: Parts = ("record_types", code)
    for i, bar in enumerate(rt.bars):
        path = (*base, "bars", i)
        if bar.rule == "min_age" and "person" not in rt.subjects:
            yield Finding("invalid_value", "a min_age bar needs a type that concerns persons", path)
        if bar.rule == "relisting_after_deletion":
            yield from _check_conditions(bar.when, rt.attributes, (*path, "when"), "bar")
            delist = rt.follow_ups.get("delist")
            reason = delist.attributes.get("reason") if delist else None
            if reason is None or reason.values is None:
                yield Finding(
                    "unknown_reference",
                    "a relisting bar needs a 'delist' follow-up with an enum 'reason' attribute",
                    path,
                )
            else:
                for j, r in enumerate(bar.reasons):
                    if r not in reason.values:
                        yield Finding(
                            "invalid_value",
                            f"reason {r!r} is not a value of delist.reason {reason.values}",
                            (*path, "reasons", j),
                        )
            if bar.same_attribute and bar.same_attribute not in rt.attributes:
                yield Finding("unknown_attribute", f"attribute {bar.same_attribute!r} is not declared", path)
        if bar.rule == "repair_minimum":
            if rt.publication.by != "severity":
                yield Finding(
                    "invalid_value",
                    "a repair_minimum bar needs 'publication: {by: severity}' on the type",
                    path,
                )
            if "repair" not in rt.follow_ups:
                yield Finding("invalid_value", "a repair_minimum bar needs a 'repair' follow-up", path)


def _severity_publication(cat: Catalog, code: str, rt: RecordType) -> Iterator[Finding]:
    path: Parts = ("record_types", code, "publication")
    attr = rt.publication.severity_attribute
    spec = rt.attributes.get(attr or "")
    if spec is None or spec.type != "enum" or spec.values is None:
        yield Finding(
            "unknown_attribute",
            f"publication by severity needs an enum attribute named by severity_attribute (got {attr!r})",
            path,
        )
        return
    if not cat.publication_regimes:
        yield Finding("unknown_reference", "publication by severity needs publication_regimes", path)
    for rcode, regime in cat.publication_regimes.items():
        missing = [v for v in spec.values if v not in regime.severities]
        if missing:
            yield Finding(
                "unknown_reference",
                f"regime {rcode!r} has no periods for severities {missing}",
                ("publication_regimes", rcode, "severities"),
            )


# -- lists ---------------------------------------------------------------------------------


def _entry_attributes(cat: Catalog, lst: ListSpec) -> dict[str, AttributeSpec]:
    """Attributes shared by every entry record type of a list."""
    types = [cat.record_types[t] for t in lst.record_types if t in cat.record_types]
    if not types:
        return {}
    common = set(types[0].attributes)
    for t in types[1:]:
        common &= set(t.attributes)
    return {name: types[0].attributes[name] for name in common}


def _domain(spec: AttributeSpec) -> list[Any] | None:
    if spec.type == "enum" and spec.values is not None:
        return [*spec.values, None] if not spec.required else list(spec.values)
    if spec.type == "integer" and spec.min is not None and spec.max is not None:
        lo, hi = int(spec.min), int(spec.max)
        if hi - lo <= 200:
            values: list[Any] = list(range(lo, hi + 1))
            return values if spec.required else [*values, None]
    if spec.type == "boolean":
        return [True, False] if spec.required else [True, False, None]
    return None


def _holds(cond: Condition, value: Any) -> bool:
    if cond.present is not None:
        return (value is not None) == cond.present
    if cond.in_ is not None:
        return value in cond.in_ or (value is not None and str(value) in map(str, cond.in_))
    assert cond.not_in is not None
    return not (value in cond.not_in or (value is not None and str(value) in map(str, cond.not_in)))


def _bounded(term: TermCase) -> bool:
    return term.duration is not None or term.until_performed or "perform" in term.ends_on


def _lists(cat: Catalog) -> Iterator[Finding]:
    for code, lst in cat.lists.items():
        base: Parts = ("lists", code)
        for i, t in enumerate(lst.record_types):
            rt = cat.record_types.get(t)
            if rt is None:
                yield Finding("unknown_reference", f"record type {t!r} is not defined", (*base, "record_types", i))
            elif not set(lst.subjects) <= set(rt.subjects):
                yield Finding(
                    "invalid_value",
                    f"list concerns {lst.subjects} but {t!r} only concerns {rt.subjects}",
                    (*base, "subjects"),
                )
        if lst.basis == "legal_finding":
            if not lst.record_types:
                yield Finding("missing_field", "a list entered by a legal finding needs record_types", base)
            if lst.grade is not None:
                yield Finding("invalid_value", "only a grade-based list has a 'grade'", (*base, "grade"))
        else:
            if lst.kind == "blacklist":
                yield Finding(
                    "restriction_from_grade",
                    "a score or grade may grant incentives only: a grade-based list must be a redlist "
                    "(Guo Ban Fa [2020] No. 49)",
                    (*base, "kind"),
                )
            grades = {g.grade for g in cat.points.grades} if cat.points else set()
            if lst.grade not in grades:
                yield Finding(
                    "unknown_reference",
                    f"grade {lst.grade!r} is not a grade of the points model",
                    (*base, "grade"),
                )
            if not lst.requires_consent:
                yield Finding(
                    "consent_required",
                    "a grade-based list must set requires_consent: true (scores need consent)",
                    (*base, "requires_consent"),
                )
        yield from _terms(cat, code, lst)


def _terms(cat: Catalog, code: str, lst: ListSpec) -> Iterator[Finding]:
    base: Parts = ("lists", code, "terms")
    if lst.basis == "grade":
        # Membership follows the current grade, which follows records that all end.
        if lst.terms:
            yield Finding("invalid_value", "a grade-based list takes no terms", base)
        return
    if not lst.terms:
        yield Finding(
            "unbounded_term",
            "the list declares no term: every membership must end (term, performance or repair)",
            ("lists", code),
        )
        return
    attrs = _entry_attributes(cat, lst) if lst.basis == "legal_finding" else {}
    for i, term in enumerate(lst.terms):
        path = (*base, i)
        if not _bounded(term):
            yield Finding(
                "unbounded_term",
                "this term has no duration and does not end on performance: it could last forever",
                path,
            )
        if lst.basis == "legal_finding":
            yield from _check_conditions(term.when, attrs, (*path, "when"), "term")
        for field in ("extension_attribute", "delay_attribute"):
            name = getattr(term, field)
            if name is not None and (name not in attrs or attrs[name].type != "integer"):
                yield Finding(
                    "unknown_attribute",
                    f"{field} {name!r} is not an integer attribute of the list's record types",
                    (*path, field),
                )
        if term.repeat is not None and not term.until_performed:
            yield Finding("invalid_value", "'repeat' applies only with until_performed", (*path, "repeat"))
    yield from _overlaps(lst, attrs, base)


def _overlaps(lst: ListSpec, attrs: dict[str, AttributeSpec], base: Parts) -> Iterator[Finding]:
    tested = sorted({name for t in lst.terms for name in t.when if name in attrs})
    domains = [_domain(attrs[n]) for n in tested]
    if any(d is None for d in domains):
        unconditional = [i for i, t in enumerate(lst.terms) if not t.when]
        if len(unconditional) > 1:
            yield Finding(
                "overlapping_terms",
                f"terms {unconditional} all apply to every record",
                base,
            )
        return
    for combo in itertools.product(*[d for d in domains if d is not None]):
        values = dict(zip(tested, combo, strict=True))
        hits = [i for i, t in enumerate(lst.terms) if all(_holds(c, values.get(n)) for n, c in t.when.items())]
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "every record"
        if len(hits) > 1:
            yield Finding("overlapping_terms", f"terms {hits} both apply when {shown}", base)
            return
        if not hits:
            yield Finding(
                "unbounded_term",
                f"no term applies when {shown}: such a membership would have no end rule",
                base,
            )
            return


# -- measures and memoranda ----------------------------------------------------------------


def _measures(cat: Catalog) -> Iterator[Finding]:
    for code, m in cat.measures.items():
        base: Parts = ("measures", code)
        for i, pattern in enumerate(m.actions):
            err = pattern_syntax_error(pattern)
            if err:
                yield Finding("invalid_action_pattern", err, (*base, "actions", i))
            elif not any(matches(pattern, a) for a in cat.actions):
                yield Finding(
                    "invalid_action_pattern",
                    f"pattern {pattern!r} matches no catalogued action",
                    (*base, "actions", i),
                )
        for i, role in enumerate(m.reaches_roles):
            if role not in cat.roles:
                yield Finding(
                    "unknown_reference", f"role {role!r} is not defined in roles", (*base, "reaches_roles", i)
                )
        if m.reaches_roles:
            rt = cat.record_types.get(m.role_type or "")
            if rt is None:
                yield Finding(
                    "unknown_reference",
                    f"reaching roles needs role_type naming a record type (got {m.role_type!r})",
                    (*base, "role_type"),
                )
            elif not {"person_id", "role"} <= set(rt.attributes):
                yield Finding(
                    "invalid_value",
                    f"role type {m.role_type!r} needs attributes 'person_id' and 'role'",
                    (*base, "role_type"),
                )
            if m.kind != "restriction":
                yield Finding("invalid_value", "only restrictions reach role holders", (*base, "reaches_roles"))
        for i, t in enumerate(m.exemptions):
            rt = cat.record_types.get(t)
            if rt is None:
                yield Finding("unknown_reference", f"record type {t!r} is not defined", (*base, "exemptions", i))
            elif "actions" not in rt.attributes:
                yield Finding(
                    "invalid_value",
                    f"exemption type {t!r} needs an 'actions' attribute (action patterns)",
                    (*base, "exemptions", i),
                )


def _memoranda(cat: Catalog) -> Iterator[Finding]:
    for code, mou in cat.memoranda.items():
        base: Parts = ("memoranda", code)
        if mou.effective_until is not None and mou.effective_until < mou.effective_from:
            yield Finding("invalid_period", "effective_until is before effective_from", (*base, "effective_until"))
        for i, lname in enumerate(mou.lists):
            lst = cat.lists.get(lname)
            if lst is None:
                yield Finding("unknown_reference", f"list {lname!r} is not defined", (*base, "lists", i))
                continue
            for j, mname in enumerate(mou.measures):
                m = cat.measures.get(mname)
                if m is None:
                    if i == 0:
                        yield Finding("unknown_reference", f"measure {mname!r} is not defined", (*base, "measures", j))
                    continue
                if m.kind == "restriction" and lst.basis != "legal_finding":
                    yield Finding(
                        "restriction_from_grade",
                        f"restriction {mname!r} is attached to {lname!r}, a list based on a score "
                        "or grade: restrictions need a legal finding (Guo Ban Fa [2020] No. 49)",
                        (*base, "measures", j),
                    )
                elif m.kind == "restriction" and lst.kind == "redlist":
                    yield Finding(
                        "invalid_value",
                        f"restriction {mname!r} is attached to the redlist {lname!r}",
                        (*base, "measures", j),
                    )
                elif m.kind == "incentive" and lst.kind == "blacklist":
                    yield Finding(
                        "invalid_value",
                        f"incentive {mname!r} is attached to the blacklist {lname!r}",
                        (*base, "measures", j),
                    )


# -- publication regimes and points --------------------------------------------------------


def _regimes(cat: Catalog) -> Iterator[Finding]:
    spans = []
    for code, reg in cat.publication_regimes.items():
        base: Parts = ("publication_regimes", code)
        if reg.effective_from and reg.effective_until and reg.effective_until < reg.effective_from:
            yield Finding("invalid_period", "effective_until is before effective_from", base)
        for sev, periods in reg.severities.items():
            if periods.minimum.approx_days() > periods.maximum.approx_days():
                yield Finding(
                    "invalid_period",
                    f"minimum {periods.minimum} is longer than maximum {periods.maximum}",
                    (*base, "severities", sev),
                )
            if periods.maximum.approx_days() <= 0 and periods.published:
                yield Finding(
                    "unbounded_term", "a published severity needs a maximum period", (*base, "severities", sev)
                )
        spans.append((code, reg.effective_from, reg.effective_until))
    for (a, af, au), (b, bf, bu) in itertools.combinations(spans, 2):
        a_before_b = au is not None and bf is not None and au < bf
        b_before_a = bu is not None and af is not None and bu < af
        if not (a_before_b or b_before_a):
            yield Finding(
                "overlapping_terms",
                f"regimes {a!r} and {b!r} cover overlapping dates",
                ("publication_regimes", b),
            )


def _points(cat: Catalog) -> Iterator[Finding]:
    pm = cat.points
    if pm is None:
        return
    base: Parts = ("points",)
    consent = cat.record_types.get(pm.consent_type)
    if consent is None:
        yield Finding("unknown_reference", f"consent type {pm.consent_type!r} is not defined", (*base, "consent_type"))
    for t, item in pm.items.items():
        rt = cat.record_types.get(t)
        if rt is None:
            yield Finding("unknown_reference", f"record type {t!r} is not defined", (*base, "items", t))
        elif item.per == "quantity" and rt.quantity == "forbidden":
            yield Finding("invalid_value", f"points per quantity, but {t!r} forbids a quantity", (*base, "items", t))
        elif rt is not None and "person" not in rt.subjects:
            yield Finding("invalid_value", f"{t!r} does not concern persons", (*base, "items", t))
    bands = sorted(
        (
            (g.min if g.min is not None else -(10**9), g.max if g.max is not None else 10**9, g.grade, i)
            for i, g in enumerate(pm.grades)
        ),
    )
    for lo, hi, grade, i in bands:
        if lo > hi:
            yield Finding("invalid_value", f"grade {grade}: min {lo} above max {hi}", (*base, "grades", i))
    for (_, hi1, g1, _), (lo2, _, g2, i2) in itertools.pairwise(bands):
        if lo2 <= hi1:
            yield Finding("overlapping_grades", f"grades {g1} and {g2} overlap", (*base, "grades", i2))
        elif lo2 > hi1 + 1:
            yield Finding(
                "grade_gap",
                f"no grade covers scores {hi1 + 1}..{lo2 - 1} (between {g1} and {g2})",
                (*base, "grades", i2),
            )
    if bands and (bands[0][0] > -(10**9) or bands[-1][1] < 10**9):
        yield Finding(
            "grade_gap",
            "the lowest grade needs no min and the highest no max (cover every score)",
            (*base, "grades"),
        )

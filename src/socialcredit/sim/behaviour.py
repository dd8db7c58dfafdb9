"""What the synthetic city's subjects do: records per type drawn from rates and propensities,
repeat offences, and the follow-ups that close them (performance, deletion, extension, credit
repair), plus organisation roles and consent to scoring. Causally consistent by construction:
a follow-up comes after its record and inside the period; nothing concerns a minor."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from socialcredit.catalog.models import Catalog
from socialcredit.sim.events import (
    CREATE,
    DELIST,
    EXTEND,
    PERFORM,
    REPAIR,
    Batch,
    Column,
    concat,
)
from socialcredit.sim.population import EPOCH, Organisations, Persons, day_number
from socialcredit.sim.scenario import Dist, FollowUp, RecordRule, Scenario

FOLLOW_UP_DOCUMENTS = {
    PERFORM: "履行确认〔{year}〕{n}号",
    DELIST: "删除决定〔{year}〕{n}号",
    EXTEND: "延长期限决定〔{year}〕{n}号",
    REPAIR: "信用修复决定〔{year}〕{n}号",
}
ROLE_DOCUMENT = "荣市监登字〔{year}〕{n}号"
CONSENT_DOCUMENT = "评分同意书〔{year}〕{n}号"

Bools = npt.NDArray[np.bool_]


class World:
    """The population, the period and the propensities; draws every record type's events."""

    def __init__(
        self,
        scenario: Scenario,
        catalog: Catalog,
        persons: Persons,
        orgs: Organisations,
        start: date,
        end: date,
        rng: np.random.Generator,
    ) -> None:
        self.scenario, self.catalog = scenario, catalog
        self.persons, self.orgs = persons, orgs
        self.start, self.end = day_number(start), day_number(end)
        self.rng = rng
        n = len(persons) + len(orgs)
        neg, pos = scenario.propensity.negative_shape, scenario.propensity.positive_shape
        self.negative = rng.gamma(neg, 1 / neg, n)
        self.positive = rng.gamma(pos, 1 / pos, n)
        self.adult_from = persons.adult_from()

    @property
    def years(self) -> float:
        return (self.end - self.start) / 365.25

    # -- draws -------------------------------------------------------------------------------

    def _between(self, lo: npt.NDArray[np.int64] | int, span: tuple[int, int], n: int) -> npt.NDArray[np.int64]:
        return np.asarray(lo + self.rng.integers(span[0], span[1] + 1, n), dtype=np.int64)

    def _dist(self, dist: Dist, n: int, days: npt.NDArray[np.int32]) -> Column:
        if dist.pattern is not None:
            return Column([dist.pattern], np.zeros(n, dtype=np.int32))
        if dist.previous_year:
            years = (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970 - 1
            vocab = [str(y) for y in range(int(years.min(initial=2000)), int(years.max(initial=2000)) + 1)]
            return Column(vocab, (years - int(vocab[0])).astype(np.int32) if n else np.zeros(0, np.int32))
        assert dist.values is not None
        codes = self.rng.choice(len(dist.values), n, p=dist.probabilities()).astype(np.int32)
        return Column([str(v) for v in dist.values], codes)

    def _attrs(self, dists: dict[str, Dist], n: int, days: npt.NDArray[np.int32]) -> dict[str, Column]:
        out = {name: self._dist(dist, n, days) for name, dist in dists.items()}
        for name, dist in dists.items():
            if dist.when:
                keep = _matches(out, dist.when, n)
                out[name].codes = np.where(keep, out[name].codes, -1).astype(np.int32)
        return out

    # -- one record type -----------------------------------------------------------------------

    def _subjects(self, rule: RecordRule) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(subject rows, day numbers) of a type's records."""
        subjects, days = [], []
        n_p = len(self.persons)
        prop = self.negative if rule.propensity == "negative" else self.positive
        for kind, rate in rule.rate.items():
            base, n = (0, n_p) if kind == "person" else (n_p, len(self.orgs))
            weight = prop[base : base + n]
            annual = rule.annual_day()
            if annual is not None:
                first = _to_date(self.start)
                for year in range(first.year, first.year + int(self.years) + 2):
                    d = day_number(date(year, *annual))
                    if not self.start <= d < self.end:
                        continue
                    hit = np.flatnonzero(self.rng.random(n) < np.minimum(1.0, rate * weight))
                    subjects.append(base + hit)
                    days.append(np.full(len(hit), d, dtype=np.int64))
            else:
                counts = self.rng.poisson(rate * self.years * weight)
                rows = np.repeat(np.arange(n, dtype=np.int64), counts)
                subjects.append(base + rows)
                days.append(self.rng.integers(self.start, self.end, len(rows)))
        subject = np.concatenate(subjects) if subjects else np.zeros(0, np.int64)
        day = np.concatenate(days) if days else np.zeros(0, np.int64)
        return subject, day

    def _legal_age(self, subject: npt.NDArray[np.int64], day: npt.NDArray[np.int64]) -> Bools:
        """Whether each event's subject is an organisation or an adult on the day."""
        n_p = len(self.persons)
        is_person = subject < n_p
        adult = np.ones(len(subject), dtype=bool)
        adult[is_person] = day[is_person] >= self.adult_from[subject[is_person]]
        org = ~is_person
        adult[org] = day[org] >= self.orgs.founded[subject[org] - n_p]
        return adult

    def records(self, rule: RecordRule) -> Batch:
        """Every event of one record type (creates and their follow-ups)."""
        subject, drawn = self._subjects(rule)
        keep = self._legal_age(subject, drawn)
        subject, day = subject[keep], drawn[keep].astype(np.int32)
        n = len(subject)
        attrs = self._attrs(rule.attrs, n, day)
        if rule.burst is not None and n:
            subject, day, attrs = self._burst(rule, subject, day, attrs)
            n = len(subject)
        amount = np.full(n, np.nan)
        if rule.amount is not None:
            lo, hi = np.log(rule.amount[0]), np.log(rule.amount[1])
            amount = np.round(np.exp(lo + self.rng.random(n) * (hi - lo)), 2)
        quantity = np.full(n, -1, dtype=np.int32)
        if rule.quantity is not None:
            quantity = self.rng.integers(rule.quantity[0], rule.quantity[1] + 1, n).astype(np.int32)
        creates = Batch(
            subject,
            Column([rule.type], np.zeros(n, dtype=np.int32)),
            day,
            np.full(n, CREATE, dtype=np.int8),
            np.full(n, -1, dtype=np.int64),
            amount,
            quantity,
            attrs,
            Column([rule.document], np.zeros(n, dtype=np.int32)),
        )
        return concat([creates, *self._follow_ups(rule, creates)], shift=False)

    def _burst(
        self,
        rule: RecordRule,
        subject: npt.NDArray[np.int64],
        day: npt.NDArray[np.int32],
        attrs: dict[str, Column],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], dict[str, Column]]:
        assert rule.burst is not None
        b = rule.burst
        n = len(subject)
        chosen = np.flatnonzero(_matches(attrs, b.when, n) & (self.rng.random(n) < b.share))
        extra = self.rng.integers(b.count[0], b.count[1] + 1, len(chosen))
        rows = np.repeat(chosen, extra)
        # the k-th repeat comes k gaps after the original offence
        step = np.concatenate([np.arange(1, e + 1) for e in extra]) if len(extra) else np.zeros(0, np.int64)
        gaps = self.rng.integers(b.days[0], b.days[1] + 1, len(rows))
        new_day = day[rows].astype(np.int64) + gaps * step
        ok = new_day < self.end
        rows, new_day = rows[ok], new_day[ok]
        idx = np.concatenate([np.arange(n), rows])
        out_day = np.concatenate([day, new_day.astype(np.int32)])
        return subject[idx], out_day, {k: v.take(idx) for k, v in attrs.items()}

    def _follow_ups(self, rule: RecordRule, c: Batch) -> list[Batch]:
        n = len(c)
        out: list[Batch] = []
        performed = np.full(n, -1, dtype=np.int64)
        delisted = np.zeros(n, dtype=bool)
        if rule.perform is not None:
            rows, days = self._pick(rule.perform, c, c.day.astype(np.int64))
            performed[rows] = days
            out.append(self._events(c, rows, days, PERFORM, rule.perform))
            if rule.delist_after_perform is not None:
                p = rule.delist_after_perform
                sel = rows[self.rng.random(len(rows)) < p.share]
                d = self._between(performed[sel], p.days, len(sel))
                ok = d < self.end
                delisted[sel[ok]] = True
                out.append(self._events(c, sel[ok], d[ok], DELIST, p))
        if rule.delist is not None:
            rows, days = self._pick(rule.delist, c, c.day.astype(np.int64), ~delisted)
            delisted[rows] = True
            out.append(self._events(c, rows, days, DELIST, rule.delist))
        if rule.extend is not None:
            rows, days = self._pick(rule.extend, c, c.day.astype(np.int64), ~delisted)
            out.append(self._events(c, rows, days, EXTEND, rule.extend))
        if rule.repair is not None:
            earliest = self._repair_minimum(rule, c)
            rows, days = self._pick(rule.repair, c, earliest, ~delisted)
            out.append(self._events(c, rows, days, REPAIR, rule.repair))
        return out

    def _pick(
        self, fu: FollowUp, c: Batch, base: npt.NDArray[np.int64], allowed: Bools | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        n = len(c)
        mask = _matches(c.attrs, fu.when, n) & (self.rng.random(n) < fu.share)
        if allowed is not None:
            mask &= allowed
        rows = np.flatnonzero(mask)
        days = self._between(base[rows], fu.days, len(rows))
        ok = days < self.end
        return rows[ok], days[ok]

    def _events(
        self, c: Batch, rows: npt.NDArray[np.int64], days: npt.NDArray[np.int64], action: int, fu: FollowUp
    ) -> Batch:
        k = len(rows)
        attrs = self._attrs(fu.attrs, k, days.astype(np.int32))
        if fu.reason is not None:
            attrs["reason"] = self._dist(fu.reason, k, days.astype(np.int32))
        return Batch(
            c.subject[rows],
            c.type.take(rows),
            days.astype(np.int32),
            np.full(k, action, dtype=np.int8),
            rows.astype(np.int64),
            np.full(k, np.nan),
            np.full(k, -1, dtype=np.int32),
            attrs,
            Column([FOLLOW_UP_DOCUMENTS[action]], np.zeros(k, dtype=np.int32)),
        )

    def _repair_minimum(self, rule: RecordRule, c: Batch) -> npt.NDArray[np.int64]:
        """The first day a repair may be requested: the record's day plus the minimum publication
        period of its severity under the regime of its date (the record's day when none)."""
        base = c.day.astype(np.int64)
        rt = self.catalog.record_types[rule.type]
        sev_name = rt.publication.severity_attribute
        if sev_name is None or sev_name not in c.attrs or not any(b.rule == "repair_minimum" for b in rt.bars):
            return base
        sev = c.attrs[sev_name]
        out = base.copy()
        uniq, inverse = np.unique(base, return_inverse=True)
        for regime in self.catalog.publication_regimes.values():
            lo = day_number(regime.effective_from) if regime.effective_from else -(10**9)
            hi = day_number(regime.effective_until) if regime.effective_until else 10**9
            for severity, periods in regime.severities.items():
                if severity not in sev.vocab:
                    continue
                shifted = np.array([day_number(periods.minimum.add_to(_to_date(int(d)))) for d in uniq], dtype=np.int64)
                mask = (sev.codes == sev.vocab.index(severity)) & (base >= lo) & (base <= hi)
                out[mask] = shifted[inverse[mask]]
        return out

    # -- roles and consent ---------------------------------------------------------------------

    def _eligible(
        self, days: npt.NDArray[np.int64], avoid: npt.NDArray[np.int64] | None = None
    ) -> npt.NDArray[np.int64]:
        """A random person who is an adult on each day (another one than ``avoid`` when possible)."""
        order = np.argsort(self.adult_from, kind="stable")
        ready = self.adult_from[order]
        count = np.searchsorted(ready, days, side="right")
        count = np.maximum(count, 1)
        pick = order[(self.rng.random(len(days)) * count).astype(np.int64)]
        if avoid is not None:
            again = pick == avoid
            pick[again] = order[(self.rng.random(int(again.sum())) * count[again]).astype(np.int64)]
        return pick.astype(np.int64)

    def roles(self) -> Batch:
        """``registry.role`` records: every organisation's legal representative from its founding
        (an adult then), some actual controllers, and changes of legal representative (the old
        role ends with a ``delist``, the new one starts the same day)."""
        roles = self.scenario.roles
        n_p, n_o = len(self.persons), len(self.orgs)
        founded = np.maximum(self.orgs.founded.astype(np.int64), int(self.adult_from.min()))
        org = np.arange(n_o, dtype=np.int64)
        rep = self._eligible(founded)
        ctl_rows = np.flatnonzero(self.rng.random(n_o) < roles.actual_controller_share)
        ctl = self._eligible(founded[ctl_rows], rep[ctl_rows])
        subject = np.concatenate([n_p + org, n_p + ctl_rows])
        person = np.concatenate([rep, ctl])
        role = np.concatenate([np.zeros(n_o, np.int32), np.ones(len(ctl_rows), np.int32)])
        day = np.concatenate([founded, founded[ctl_rows]])
        parent = np.full(len(subject), -1, dtype=np.int64)
        action = np.full(len(subject), CREATE, dtype=np.int8)
        current = org.copy()  # row of each organisation's current legal representative record
        span_start = np.maximum(founded, self.start)
        for _ in range(3):
            lam = roles.change_rate * np.maximum(0, self.end - span_start) / 365.25
            moving = np.flatnonzero(self.rng.random(n_o) < 1 - np.exp(-lam))
            when = span_start[moving] + (self.rng.random(len(moving)) * (self.end - span_start[moving])).astype(
                np.int64
            )
            ok = when < self.end
            moving, when = moving[ok], when[ok]
            k = len(moving)
            old_person = person[current[moving]]
            new_person = self._eligible(when, old_person)
            base = len(subject)
            # a delist of the old record, then the new record
            subject = np.concatenate([subject, n_p + moving, n_p + moving])
            person = np.concatenate([person, old_person, new_person])
            role = np.concatenate([role, np.zeros(k, np.int32), np.zeros(k, np.int32)])
            day = np.concatenate([day, when, when])
            parent = np.concatenate([parent, current[moving], np.full(k, -1, dtype=np.int64)])
            action = np.concatenate([action, np.full(k, DELIST, np.int8), np.full(k, CREATE, np.int8)])
            current[moving] = base + k + np.arange(k)
            span_start[moving] = when + 1
        n = len(subject)
        is_delist = action == DELIST
        attrs = {
            "role": Column(
                ["legal_representative", "actual_controller"], np.where(is_delist, -1, role).astype(np.int32)
            ),
            "reason": Column(["role_ended"], np.where(is_delist, 0, -1).astype(np.int32)),
        }
        docs = Column([ROLE_DOCUMENT, FOLLOW_UP_DOCUMENTS[DELIST]], is_delist.astype(np.int32))
        batch = Batch(
            subject,
            Column(["registry.role"], np.zeros(n, dtype=np.int32)),
            day.astype(np.int32),
            action,
            parent,
            np.full(n, np.nan),
            np.full(n, -1, dtype=np.int32),
            attrs,
            docs,
            person=np.where(is_delist, -1, person),
        )
        return batch

    def consents(self, consent_type: str) -> Batch:
        """Consent to scoring by a share of the adults (from up to a year before the period),
        some later withdrawn (``delist``)."""
        c = self.scenario.consent
        n_p = len(self.persons)
        rows = np.flatnonzero(self.rng.random(n_p) < c.share)
        lo = np.maximum(self.adult_from[rows].astype(np.int64), self.start - 365)
        ok = lo < self.end
        rows, lo = rows[ok], lo[ok]
        day = lo + (self.rng.random(len(rows)) * (self.end - lo)).astype(np.int64)
        n = len(rows)
        creates = Batch(
            rows.astype(np.int64),
            Column([consent_type], np.zeros(n, dtype=np.int32)),
            day.astype(np.int32),
            np.full(n, CREATE, dtype=np.int8),
            np.full(n, -1, dtype=np.int64),
            np.full(n, np.nan),
            np.full(n, -1, dtype=np.int32),
            {},
            Column([CONSENT_DOCUMENT], np.zeros(n, dtype=np.int32)),
        )
        withdraw = FollowUp(share=c.withdraw_share, days=c.withdraw_days)
        picked, days = self._pick(withdraw, creates, creates.day.astype(np.int64))
        return concat([creates, self._events(creates, picked, days, DELIST, withdraw)], shift=False)


def _to_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _matches(attrs: dict[str, Column], when: dict[str, list[str | int]], n: int) -> Bools:
    mask = np.ones(n, dtype=bool)
    for name, values in when.items():
        col = attrs.get(name)
        if col is None:
            return np.zeros(n, dtype=bool)
        wanted = [col.vocab.index(str(v)) for v in values if str(v) in col.vocab]
        mask &= np.isin(col.codes, wanted)
    return mask


__all__ = ["World"]

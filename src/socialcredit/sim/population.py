"""Synthetic persons and organisations: valid identity codes with real division codes (the
GB/T 2260 table bundled with python-stdnum), a realistic age and sex mix, and common Chinese
names (the weighted surname and given-name tables of Faker's zh_CN provider)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.company.zh_CN import Provider as CompanyNames
from faker.providers.person.zh_CN import Provider as PersonNames

from socialcredit.identity.regions import all_region_codes, region_name
from socialcredit.sim.codes import I64, org_body_ok, org_codes, person_digits, person_text, strings
from socialcredit.sim.scenario import Population

EPOCH = np.datetime64("1970-01-01", "D")


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return int((np.datetime64(day, "D") - EPOCH).astype(np.int64))


@dataclass
class Persons:
    """Columns of the person table (row i is person i)."""

    codes: pa.StringArray
    names: pa.StringArray
    birth: npt.NDArray[np.int32]  # days since 1970-01-01
    male: npt.NDArray[np.bool_]
    region: I64

    def __len__(self) -> int:
        return len(self.codes)

    def adult_from(self) -> npt.NDArray[np.int32]:
        """Day number of each person's 18th birthday (approximately: 18 * 365.25 days)."""
        return (self.birth + int(18 * 365.25) + 1).astype(np.int32)


@dataclass
class Organisations:
    """Columns of the organisation table."""

    codes: pa.StringArray
    names: pa.StringArray
    founded: npt.NDArray[np.int32]
    region: I64

    def __len__(self) -> int:
        return len(self.codes)


def _regions_by_year(years: npt.NDArray[np.int64], pop: Population, rng: np.random.Generator) -> I64:
    """A division code in use in each birth year: the city's own for the local share (else one of
    its province), otherwise any county-level code of the country."""
    out = np.zeros(len(years), dtype=np.int64)
    local = rng.random(len(years)) < pop.local_share
    for year in np.unique(years):
        rows = np.flatnonzero(years == year)
        codes = all_region_codes(int(year)) or all_region_codes(None)
        everywhere = np.array([int(c) for c in codes], dtype=np.int64)
        if pop.local_region in codes:
            home = np.array([int(pop.local_region)], dtype=np.int64)
        else:
            near = [int(c) for c in codes if c.startswith(pop.local_prefix)]
            home = np.array(near, dtype=np.int64) if near else everywhere
        pick_home = local[rows]
        out[rows] = np.where(
            pick_home,
            home[rng.integers(0, len(home), len(rows))],
            everywhere[rng.integers(0, len(everywhere), len(rows))],
        )
    return out


def _names(rng: np.random.Generator, male: npt.NDArray[np.bool_]) -> pa.StringArray:
    surnames = list(PersonNames.last_names.keys())
    weights = np.array(list(PersonNames.last_names.values()), dtype=np.float64)
    sur = pa.array(surnames, pa.string()).take(
        pa.array(rng.choice(len(surnames), len(male), p=weights / weights.sum()))
    )
    given_m = [g for g in PersonNames.first_names_male if len(g) == 1] or list(PersonNames.first_names_male)
    given_f = [g for g in PersonNames.first_names_female if len(g) == 1] or list(PersonNames.first_names_female)
    pool = pa.array(given_m + given_f, pa.string())
    n = len(male)
    first = np.where(male, rng.integers(0, len(given_m), n), len(given_m) + rng.integers(0, len(given_f), n))
    second = np.where(male, rng.integers(0, len(given_m), n), len(given_m) + rng.integers(0, len(given_f), n))
    one = pool.take(pa.array(first))
    two = pc.binary_join_element_wise(one, pool.take(pa.array(second)), "")
    given = pc.if_else(pa.array(rng.random(n) < 0.3), one, two)
    return pc.binary_join_element_wise(sur, given, "")


def make_persons(rng: np.random.Generator, n: int, start: date, pop: Population) -> Persons:
    """``n`` persons alive at ``start`` with distinct, valid identity numbers."""
    bands = np.array([b[2] for b in pop.age_shares], dtype=np.float64)
    band = rng.choice(len(bands), n, p=bands / bands.sum())
    lo = np.array([b[0] for b in pop.age_shares])[band]
    hi = np.array([b[1] for b in pop.age_shares])[band]
    age_days = ((lo + rng.random(n) * (hi - lo + 1)) * 365.25).astype(np.int64)
    birth = (day_number(start) - age_days).astype(np.int32)
    dates = (EPOCH + birth.astype("timedelta64[D]")).astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1
    days = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    male = rng.random(n) < pop.male_share
    region = _regions_by_year(years, pop, rng)
    # sequence: odd for men, even for women; redraw until every code is distinct
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    key = ((region * 10**8 + years * 10**4 + months * 100 + days) * 1000) + seq
    for _ in range(50):
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup].astype(np.int64)
        key[dup] = (key[dup] // 1000) * 1000 + seq[dup]
    else:  # pragma: no cover - needs an absurdly crowded region and birth day
        raise RuntimeError("could not draw distinct identity numbers")
    digits = person_digits(region, years, months, days, seq)
    return Persons(strings(person_text(digits)), _names(rng, male), birth, male, region)


def make_organisations(
    rng: np.random.Generator, n: int, start: date, end: date, pop: Population, founded_years_before: int
) -> Organisations:
    """``n`` enterprises registered in the city (a few elsewhere in the province), with distinct
    codes, founded before the end of the simulated period."""
    body = np.zeros(0, dtype=np.int64)
    while len(body) < n:
        draw = rng.choice(10**8, size=int((n - len(body)) * 1.2) + 16, replace=False)
        draw = draw[org_body_ok(draw)]
        body = np.unique(np.concatenate([body, draw]))
    body = rng.permutation(body)[:n]
    province = [int(c) for c in all_region_codes(start.year) if c.startswith(pop.local_prefix)]
    local = np.full(n, int(pop.local_region), dtype=np.int64)
    away = rng.random(n) >= pop.local_share
    if province:
        local[away] = np.array(province, dtype=np.int64)[rng.integers(0, len(province), int(away.sum()))]
    codes = org_codes(local, body)
    lo = day_number(start) - int(founded_years_before * 365.25)
    founded = rng.integers(lo, day_number(end) - 30, n).astype(np.int32)
    city = (region_name(pop.local_region) or "").removesuffix("市").removesuffix("县")
    prefixes = pa.array(list(CompanyNames.company_prefixes), pa.string())
    suffixes = pa.array(list(CompanyNames.company_suffixes), pa.string())
    names = pc.binary_join_element_wise(
        pa.array([city] * n, pa.string()),
        prefixes.take(pa.array(rng.integers(0, len(prefixes), n))),
        suffixes.take(pa.array(rng.integers(0, len(suffixes), n))),
        "",
    )
    return Organisations(codes, names, founded, local)

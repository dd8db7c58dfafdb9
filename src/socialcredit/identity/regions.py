"""GB/T 2260 administrative division codes, as bundled with python-stdnum (``cn/loc.dat``).

A 6-digit code may have carried several names over time, each annotated in the data
with the years it was in use (``[1983-2010]name``; an open end means "unbounded", no
annotation means "always"). Following python-stdnum, a code is in use in a year when ANY
of its names is unannotated or has a year range containing that year; codes absent from
the data are unknown.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from stdnum import numdb

CODE_SPACE: Final = 1_000_000
"""Number of possible 6-digit division codes."""

MAX_YEAR: Final = 9999
"""Latest year a :class:`RegionTable` answers for (the latest year of a date)."""


class RegionDataError(RuntimeError):
    """The bundled division code data does not have the layout this module understands."""


@dataclass(frozen=True)
class RegionPeriod:
    """One name carried by a division code and the years it was in use (None = open end)."""

    name: str
    first_year: int | None
    last_year: int | None

    def in_use(self, year: int) -> bool:
        """Whether this name was in use in ``year``."""
        if self.first_year is not None and year < self.first_year:
            return False
        return self.last_year is None or year <= self.last_year

    def describe(self) -> str:
        """Human form, e.g. ``崇文区 (until 2010)``."""
        if self.first_year is None and self.last_year is None:
            return self.name
        if self.first_year is None:
            return f"{self.name} (until {self.last_year})"
        if self.last_year is None:
            return f"{self.name} (from {self.first_year})"
        return f"{self.name} ({self.first_year}-{self.last_year})"


@dataclass(frozen=True, eq=False)
class RegionTable:
    """All division codes with their periods, plus a numpy form for bulk lookups.

    ``row_of[int(code)]`` is the code's row, ``unknown_row`` if absent;
    ``in_use[row * year_count + year_column[year]]`` says whether it was in use in a year
    (years before/after every boundary in the data share the first/last column; the
    ``unknown_row`` is never in use).
    """

    periods: Mapping[str, tuple[RegionPeriod, ...]]
    provinces: Mapping[str, str]
    row_of: npt.NDArray[np.int32]
    unknown_row: int
    year_column: npt.NDArray[np.int32]
    year_count: int
    in_use: npt.NDArray[np.bool_]

    def status(
        self, codes: npt.NDArray[np.integer[Any]], years: npt.NDArray[np.integer[Any]]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Element-wise (known, in use in year) for integer codes in ``[0, CODE_SPACE)``
        and years in ``[0, MAX_YEAR]``."""
        rows = self.row_of[codes]
        cells = rows * self.year_count
        cells += self.year_column[years]
        return rows != self.unknown_row, self.in_use[cells]


def _parse_county(text: str) -> tuple[RegionPeriod, ...]:
    """Split a ``county`` property (``[-1991]东郊区,[1992-]东丽区``) into periods."""
    periods = []
    for item in text.split(","):
        if not item.startswith("["):
            periods.append(RegionPeriod(item, None, None))
            continue
        span, _, name = item[1:].partition("]")
        start, _, end = span.partition("-")
        periods.append(RegionPeriod(name, int(start) if start else None, int(end) if end else None))
    return tuple(periods)


def _walk(
    prefixes: Sequence[Any],
    prefix: str,
    inherited: Mapping[str, str],
    out: dict[str, dict[str, str]],
) -> None:
    """Collect the merged properties of every 6-digit code reachable in a numdb tree."""
    merged: dict[str, tuple[dict[str, str], list[Any]]] = {}
    lengths: set[int] = set()
    for length, low, high, props, children in prefixes:
        if not (str(low).isdigit() and str(high).isdigit()):
            raise RegionDataError(f"non-numeric prefix range {low}-{high}")
        lengths.add(int(length))
        for value in range(int(low), int(high) + 1):
            entry = merged.setdefault(str(value).zfill(int(length)), ({}, []))
            entry[0].update(props)
            entry[1].extend(children)
    if len(lengths) > 1:
        raise RegionDataError(f"mixed prefix lengths {sorted(lengths)} under {prefix!r}")
    for part, (props, children) in merged.items():
        code = prefix + part
        info = {**inherited, **props}
        if len(code) > 6 or (len(code) == 6 and children):
            raise RegionDataError(f"division code {code!r} is nested deeper than 6 digits")
        if len(code) == 6:
            if "county" in info:
                out[code] = info
        elif children:
            _walk(children, code, info, out)
        elif "county" in info:
            raise RegionDataError(f"prefix {code!r} names a county without 6 digits")


@functools.cache
def region_table() -> RegionTable:
    """The division code table (loaded once from python-stdnum's bundled data)."""
    infos: dict[str, dict[str, str]] = {}
    _walk(numdb.get("cn/loc").prefixes, "", {}, infos)
    periods = {code: _parse_county(info["county"]) for code, info in sorted(infos.items())}
    provinces = {code[:2]: info["province"] for code, info in infos.items() if "province" in info}

    bounds = [
        year
        for code_periods in periods.values()
        for period in code_periods
        for year in (period.first_year, period.last_year)
        if year is not None
    ] or [2000]
    floor, ceiling = min(bounds) - 1, max(bounds) + 1
    years = range(floor, ceiling + 1)
    year_column = (np.clip(np.arange(MAX_YEAR + 1), floor, ceiling) - floor).astype(np.int32)

    unknown_row = len(periods)
    row_of = np.full(CODE_SPACE, unknown_row, dtype=np.int32)
    in_use = np.zeros((unknown_row + 1, len(years)), dtype=np.bool_)
    for row, (code, code_periods) in enumerate(periods.items()):
        row_of[int(code)] = row
        in_use[row] = [any(p.in_use(year) for p in code_periods) for year in years]
    for array in (row_of, year_column, in_use):
        array.flags.writeable = False
    return RegionTable(
        periods=periods,
        provinces=provinces,
        row_of=row_of,
        unknown_row=unknown_row,
        year_column=year_column,
        year_count=len(years),
        in_use=in_use.ravel(),
    )


def region_periods(code: str) -> tuple[RegionPeriod, ...]:
    """The names a 6-digit code carried, in data order; empty if the code is unknown."""
    return region_table().periods.get(code, ())


def is_known_region(code: str) -> bool:
    """Whether ``code`` is a division code listed in the data (in any year)."""
    return code in region_table().periods


def region_in_use(code: str, year: int) -> bool:
    """Whether ``code`` is known and was in use in ``year``."""
    return any(period.in_use(year) for period in region_periods(code))


def region_name(code: str, year: int | None = None) -> str | None:
    """Name of a 6-digit code: the first name in use in ``year``, else its latest name.

    None when the code is unknown (or, with ``year``, not in use that year).
    """
    periods = region_periods(code)
    if year is None:
        return periods[-1].name if periods else None
    return next((period.name for period in periods if period.in_use(year)), None)


def province_name(code: str) -> str | None:
    """Name of the province-level division a code belongs to (by its first two digits)."""
    return region_table().provinces.get(code[:2])


def all_region_codes(year: int | None = None) -> list[str]:
    """Sorted 6-digit county-level codes in use in ``year`` (any year when None).

    Aggregate codes (``XX0000`` provinces, ``XXYY00`` prefectures) are left out when
    the same selection holds finer codes beneath them.
    """
    table = region_table()
    selected = [
        code
        for code, periods in table.periods.items()
        if year is None or any(period.in_use(year) for period in periods)
    ]
    parents: set[str] = set()
    for code in selected:
        if code[4:] != "00":
            parents.add(code[:4] + "00")
        if code[2:] != "0000":
            parents.add(code[:2] + "0000")
    return sorted(code for code in selected if code not in parents)

"""PRC working days: statutory holidays and make-up working days from the maintained
``chinese_calendar`` package (official State Council notices, one year at a time).

For years the package does not cover yet (notices are published late in the preceding year),
working days are Monday to Friday; ``covered`` tells which years are exact.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import pyarrow as pa


@lru_cache(maxsize=1)
def covered_years() -> range:
    """Years for which the official holiday arrangements are known."""
    years = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return range(min(years), max(years) + 1)


def covered(day: date) -> bool:
    """Whether working days around ``day`` follow the official calendar (not a guess)."""
    return day.year in covered_years()


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day (official calendar, else Monday to Friday)."""
    if covered(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def nth_workday(start: date, n: int) -> date:
    """The ``n``-th working day counting ``start`` itself as the first if it is one."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, seen = start, 0
    while True:
        if is_workday(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)


def add_workdays(start: date, n: int) -> date:
    """The day ``n`` working days after ``start`` (``start`` itself not counted)."""
    return nth_workday(start + timedelta(days=1), n)


def workday_table(first: date, last: date) -> pa.Table:
    """Every day from ``first`` to ``last`` with ``is_workday`` and ``wd_seq``, the number of
    working days from ``first`` up to and including the day (for working-day arithmetic in SQL)."""
    days, flags, seqs = [], [], []
    seq = 0
    day = first
    while day <= last:
        work = is_workday(day)
        seq += int(work)
        days.append(day)
        flags.append(work)
        seqs.append(seq)
        day += timedelta(days=1)
    return pa.table({"day": pa.array(days, pa.date32()), "is_workday": flags, "wd_seq": pa.array(seqs, pa.int32())})

"""Calendar periods such as ``P2Y``, ``P3M``, ``P180D``: parsing and date arithmetic.

Month and year arithmetic clips to the end of the month (2024-02-29 + P1Y = 2025-02-28),
which is also how DuckDB and PostgreSQL add intervals, so that every engine agrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_PERIOD_RE = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<d>\d+)D)?$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period of whole years, months and days."""

    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``P1Y6M``-style text; raises ValueError with the reason."""
        m = _PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
        if not m or text.strip() == "P":
            raise ValueError(f"{text!r} is not a period: write P<n>Y<n>M<n>D, e.g. P2Y, P3M, P180D, P1Y6M")
        return cls(int(m["y"] or 0), int(m["m"] or 0), int(m["d"] or 0))

    def add_to(self, day: date, times: int = 1) -> date:
        """The date ``times`` periods after ``day`` (month ends clip)."""
        return day + relativedelta(years=self.years * times, months=self.months * times, days=self.days * times)

    def sql_interval(self) -> str:
        """The same period as an SQL interval literal understood by DuckDB and PostgreSQL."""
        return f"INTERVAL '{self.years} years {self.months} months {self.days} days'"

    def approx_days(self) -> float:
        """Length in days, for ordering periods of different units."""
        return self.years * 365.25 + self.months * 30.44 + self.days

    def __str__(self) -> str:
        if not (self.years or self.months or self.days):
            return "P0D"
        parts = ["P"]
        if self.years:
            parts.append(f"{self.years}Y")
        if self.months:
            parts.append(f"{self.months}M")
        if self.days:
            parts.append(f"{self.days}D")
        return "".join(parts)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def coerce(value: Any) -> Period:
            if isinstance(value, Period):
                return value
            if isinstance(value, str):
                return cls.parse(value)
            raise ValueError(f"expected a period like 'P2Y', got {value!r}")

        return core_schema.no_info_plain_validator_function(
            coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(pattern=_PERIOD_RE.pattern),
        )

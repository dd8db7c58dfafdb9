"""Periods (P2Y, P3M, P180D) and action patterns."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcredit.catalog.actions import expand, matches, nearest, pattern_syntax_error
from socialcredit.catalog.loader import load_default
from socialcredit.catalog.periods import Period


@pytest.mark.parametrize(
    ("text", "period"),
    [("P2Y", Period(2)), ("P3M", Period(0, 3)), ("P180D", Period(0, 0, 180)), ("P1Y6M", Period(1, 6))],
)
def test_period_parse(text: str, period: Period) -> None:
    assert Period.parse(text) == period
    assert str(period) == text


@pytest.mark.parametrize("text", ["", "P", "2Y", "P2W", "P-1Y", "p2y"])
def test_period_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        Period.parse(text)


def test_period_arithmetic_clips_month_ends() -> None:
    assert Period(2).add_to(date(2024, 3, 4)) == date(2026, 3, 4)  # S1: 2 years
    assert Period(0, 3).add_to(date(2026, 5, 11)) == date(2026, 8, 11)  # S29
    assert Period(1).add_to(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Period(0, 1).add_to(date(2025, 1, 31)) == date(2025, 2, 28)
    assert Period(0, 6).add_to(date(2025, 5, 12)) == date(2025, 11, 12)  # S5 boundary


def test_period_sql_interval_agrees_with_python() -> None:
    import duckdb

    con = duckdb.connect()
    for period in (Period(2), Period(0, 3), Period(0, 0, 180), Period(1, 6, 3)):
        for start in (date(2024, 2, 29), date(2025, 1, 31), date(2023, 12, 31)):
            got = con.execute(f"SELECT CAST(DATE '{start}' + {period.sql_interval()} AS DATE)").fetchall()[0][0]
            assert got == period.add_to(start), (period, start)


def test_action_patterns() -> None:
    assert matches("flight.*", "flight.economy")
    assert matches("rail.*", "rail.g.second")
    assert matches("rail.*.soft_sleeper", "rail.k.soft_sleeper")
    assert not matches("rail.*.soft_sleeper", "rail.k.hard_sleeper")
    assert not matches("rail.d.first", "rail.d.second")
    assert not matches("flight.*", "flight")
    assert pattern_syntax_error("Flight.*") is not None
    assert pattern_syntax_error("rail..g") is not None
    assert pattern_syntax_error("rail.*.first") is None


def test_high_consumption_covers_the_2015_list_and_spares_d_second_class() -> None:
    cat = load_default()
    actions = expand(cat.measures["high_consumption"].actions, cat.actions)
    assert "rail.g.second" in actions  # S16: every G-train seat
    assert "rail.d.second" not in actions  # S17: D-train second class allowed
    assert {"flight.economy", "rail.k.soft_sleeper", "ship.second_class"} <= set(actions)  # S18
    assert "ship.third_class" not in actions


def test_nearest_actions_suggests_catalogued_ones() -> None:
    cat = load_default()
    assert nearest("flight.econmy", cat.actions)[0] == "flight.economy"
    assert all(a.startswith("rail.") for a in nearest("rail.x.y", cat.actions))


segments = st.lists(st.sampled_from(["a", "b", "c1", "d_e"]), min_size=1, max_size=4)


@given(segments, segments)
def test_a_literal_pattern_matches_only_itself(a: list[str], b: list[str]) -> None:
    assert matches(".".join(a), ".".join(b)) == (a == b)


@given(segments)
def test_trailing_star_matches_every_extension(a: list[str]) -> None:
    assert matches(a[0] + ".*", ".".join(a)) == (len(a) > 1)

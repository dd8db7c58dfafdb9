"""When a full derive may drop each of its temporary tables (``last_reads``)."""

from __future__ import annotations

from datetime import date

from socialcredit.catalog import load_default
from socialcredit.derive.engine import _WRITTEN_FROM, next_change_steps
from socialcredit.derive.sql import Step, last_reads, steps


def test_a_table_lives_until_its_last_reader_even_through_views() -> None:
    plan = [
        Step("base", "SELECT 1 AS x"),
        Step("base_v", "SELECT x FROM base", view=True),
        Step("mid", "SELECT x FROM base_v"),
        Step("other", "SELECT 2 AS y"),  # read by nothing later
        Step("out_v", "SELECT * FROM mid, other", view=True),
        Step("tail", "SELECT x FROM mid"),
        Step("based", "SELECT 3 AS z"),  # a longer name that contains an earlier one
    ]
    assert last_reads(plan, keep=[]) == {2: ["base"], 4: ["other"], 5: ["mid", "tail"], 6: ["based"]}
    # what the caller reads afterwards, through a view too, is kept to the end
    assert last_reads(plan, keep=["out_v"]) == {2: ["base"], 5: ["tail"], 6: ["based"]}
    assert last_reads(plan, keep=["tail"]) == {2: ["base"], 4: ["other"], 5: ["mid"], 6: ["based"]}


def test_the_default_derivation_keeps_what_it_writes() -> None:
    as_of = date(2026, 6, 1)
    catalog = load_default()
    plan = steps(catalog, as_of) + next_change_steps(catalog, as_of)
    dropped = {name: i for i, names in last_reads(plan, list(_WRITTEN_FROM)).items() for name in names}
    position = {st.name: i for i, st in enumerate(plan)}
    # nothing the writes read (directly or through the measures and memberships views) goes:
    # the records behind the memberships are written from the windows and the detail records
    for kept in ("memb", "direct", "via", "scores", "exemptions", "next_change", "win", "rwd"):
        assert kept not in dropped
    # the follow-ups go once both window relations that join them are made
    assert dropped["fu"] == position["pts"]

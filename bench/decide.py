"""Benchmark: decisions after a derive, against plain Python dict look-ups in the same run.

    python bench/decide.py [--subjects 1000000] [--events 5000000] [--checks 1000000] [--screen 5000000]
                           [--screen-runs 3]

- in-process ``check`` through the decision index (answer + decision logged, explanation on
  demand) vs. a dict look-up of a precomputed answer; goal >= 200k decisions/s;
- ``screen`` of a column of identity codes (validated, answered, every row logged) vs. a dict
  look-up per code; goal >= 5M codes/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from socialcredit.decide import Decider
from socialcredit.decide.index import DecisionIndex
from socialcredit.derive import Deriver
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore
from synth import build_in_child, upgrade

AS_OF = date(2026, 6, 1)
ACTIONS = (
    "flight.economy",
    "rail.g.second",
    "rail.d.second",
    "hotel.star_rated",
    "procurement.bid",
    "service.fast_track",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--checks", type=int, default=1_000_000)
    parser.add_argument("--screen", type=int, default=5_000_000)
    parser.add_argument("--screen-runs", type=int, default=3, help="timed screens (the median is reported)")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="sc-bench-decide-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"decide-{args.events}.duckdb"
    if not db.exists():
        build_in_child(db, args.subjects, args.events)
    upgrade(db)
    settings = Settings(db=db, today=AS_OF, memory_limit="8GB")
    with DuckDBStore(db, settings) as store:
        store.con.execute("DELETE FROM decisions")
        Deriver(store).materialize(AS_OF)
        t0 = time.perf_counter()
        index = DecisionIndex(store, party="bench")
        print(f"index built in {time.perf_counter() - t0:.1f} s: {len(index.restricted):,} restricted subjects")
        codes = [str(r[0]) for r in store.con.execute("SELECT subject_id FROM subjects").fetchall()]
        rng = np.random.default_rng(3)
        picks = [codes[i] for i in rng.integers(0, len(codes), args.checks)]
        actions = [ACTIONS[i] for i in rng.integers(0, len(ACTIONS), args.checks)]
        # baseline: the same questions answered from a plain dict
        answers = {(c, a): index.check(c, a).allowed for c, a in zip(picks[:1000], actions[:1000], strict=True)}
        index._pending.clear()
        plain = {c: bool(index.restricted.get(c, 0)) for c in codes}
        t0 = time.perf_counter()
        for c in picks:
            plain.get(c)
        base_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        denied = 0
        for c, a in zip(picks, actions, strict=True):
            if not index.check(c, a).allowed:
                denied += 1
        logged = index.flush()
        check_s = time.perf_counter() - t0
        example = next((c, a) for (c, a), ok in answers.items() if not ok) if not all(answers.values()) else None
        if example:
            explained = index.explain(index.check(*example))
            assert explained["restrictions"], explained
            index.flush()
        rate = args.checks / check_s
        print(f"dict look-up baseline: {args.checks / base_s:14,.0f} look-ups/s")
        print(f"index check + log:     {rate:14,.0f} decisions/s ({denied:,} denied, {logged:,} logged)")
        print(
            f"  ratio to the dict baseline: {base_s / check_s:.3f}; "
            f"goal >= 200,000/s: {'met' if rate >= 200_000 else 'NOT met'}"
        )
        # screening
        column = pa.array([codes[i] for i in rng.integers(0, len(codes), args.screen)], pa.string())
        t0 = time.perf_counter()
        for c in column.to_pylist():
            plain.get(c)
        sbase_s = time.perf_counter() - t0
        index.screen(column.slice(0, 10), "flight.economy")  # builds the look-up table once
        times = []
        for _ in range(args.screen_runs):
            # (each run writes its own screening log file: disk writes vary most between runs)
            t0 = time.perf_counter()
            result = index.screen(column, "flight.economy")
            times.append(time.perf_counter() - t0)
        screen_s = statistics.median(times)
        srate = args.screen / screen_s
        restricted = result.num_rows - sum(result.column("allowed").to_pylist())
        print(f"dict look-up baseline: {args.screen / sbase_s:14,.0f} codes/s")
        print(
            f"index screen (answer, log every row): {srate:14,.0f} codes/s, median of {len(times)} "
            f"({args.screen / max(times):,.0f}-{args.screen / min(times):,.0f}; {restricted:,} restricted)"
        )
        print(
            f"  ratio to the dict baseline: {sbase_s / screen_s:.2f}; "
            f"goal >= 5,000,000/s: {'met' if srate >= 5_000_000 else 'NOT met'}"
        )
        small = column.slice(0, min(len(column), 1_000_000))
        decider = Decider(store, party="bench")
        t0 = time.perf_counter()
        full = decider.screen(small, "flight.economy", AS_OF)
        full_s = time.perf_counter() - t0
        agree = full.column("allowed").equals(result.column("allowed").slice(0, len(small)))
        print(
            f"Decider.screen as the CLI runs it (index built per call, reasons per row): "
            f"{len(small) / full_s:14,.0f} codes/s; "
            f"answers agree with the index: {agree}"
        )
        assert agree


if __name__ == "__main__":
    main()

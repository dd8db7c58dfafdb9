"""Benchmark: full derive over a large synthetic log, against a bare DuckDB query that sums
points per subject among the records in force on a date, over the same data in the same run.

    python bench/derive.py [--events 100000000] [--subjects 10000000] [--runs 1] [--dir DIR]

With ``--runs N`` the bare query and the full derive alternate N times (separate processes)
and the medians are compared; single runs on a shared machine vary by 10-20%. Before each
timed run the database file is read once, so that both start with it in the page cache.

Goal (issue 3): the full derive within 5x of that bare query; peak RSS < 16 GiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import build_in_child, count, upgrade

AS_OF = "2026-06-01"

BARE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True, config={'memory_limit': sys.argv[2]})
con.execute('SET enable_progress_bar = false')
t = time.perf_counter()
con.execute('''
    CREATE TEMP TABLE pts AS
    WITH p(type, points) AS (VALUES ('traffic.violation', -5), ('loan.arrears_cycle', -10), ('utility.arrears', -20),
        ('contract.breach', -20), ('civil.volunteer_month', 2), ('civil.blood_donation', 10))
    SELECT e.subject_id, 1000 + sum(p.points) AS score
    FROM events e JOIN p USING (type)
    WHERE e.action = 'create' AND e.decided_on <= DATE 'AS_OF' AND e.decided_on > DATE 'AS_OF' - INTERVAL 5 YEARS
    GROUP BY e.subject_id
''')
print(time.perf_counter() - t)
""".replace("AS_OF", AS_OF)

DERIVE = """
import sys, time
from datetime import date
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore
from socialcredit.derive import Deriver
settings = Settings(db=sys.argv[1], memory_limit=sys.argv[2], today=date.fromisoformat('AS_OF'))
with DuckDBStore(settings.db, settings) as store:
    t = time.perf_counter()
    summary = Deriver(store).materialize(date.fromisoformat('AS_OF'), full=True)
    print(time.perf_counter() - t, summary.memberships, summary.measures)
""".replace("AS_OF", AS_OF)


def warm(db: Path) -> None:
    """Read the database file once, so that each timed child starts with it in the page cache:
    a derive leaves little cache behind, and the bare query run after it would otherwise time
    the disk (it varied from 9 s to 32 s at 113M events)."""
    with db.open("rb") as f:
        while f.read(1 << 24):
            pass


def run(code: str, *args: str) -> tuple[str, int]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed:\n{err}")
    return out, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--subjects", type=int, default=10_000_000)
    parser.add_argument("--memory-limit", default="12GB")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=1, help="runs of each, alternating (medians compared)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="sc-bench-derive-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"derive-{args.events}.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        build_in_child(db, args.subjects, args.events)
        print(f"built a log of {count(db)[0]:,} events in {time.perf_counter() - t0:.0f} s")
    elif applied := upgrade(db):
        print(f"the kept log was migrated to the current schema ({applied})")
    events, subjects = count(db)
    bare_times: list[float] = []
    derive_times: list[float] = []
    bare_rss = derive_rss = 0
    memberships = measures = "0"
    for _ in range(args.runs):
        warm(db)
        bare_out, rss = run(BARE, str(db), args.memory_limit)
        bare_times.append(float(bare_out.split()[0]))
        bare_rss = max(bare_rss, rss)
        warm(db)
        derive_out, rss = run(DERIVE, str(db), args.memory_limit)
        derive_s, memberships, measures = derive_out.split()
        derive_times.append(float(derive_s))
        derive_rss = max(derive_rss, rss)
    bare_s = statistics.median(bare_times)
    derive_t = statistics.median(derive_times)
    print(f"log: {events:,} events about {subjects:,} subjects; as of {AS_OF}; {args.runs} run(s) of each, median")
    for label, secs, times, rss in (
        ("bare points-in-force query", bare_s, bare_times, bare_rss),
        ("full derive", derive_t, derive_times, derive_rss),
    ):
        spread = f" ({min(times):.2f}-{max(times):.2f})" if len(times) > 1 else ""
        print(f"{label:27s} {secs:8.2f} s{spread} {events / secs:14,.0f} events/s  peak RSS {rss / 2**30:.2f} GiB")
    print(f"  {int(memberships):,} list memberships, {int(measures):,} measures")
    if len(derive_times) > 1:
        per_run = ", ".join(f"{d / b:.2f}" for d, b in zip(derive_times, bare_times, strict=True))
        print(f"  per run: {per_run}")
    ratio = derive_t / bare_s
    print(f"ratio derive / bare query: {ratio:.2f}x")
    print(f"  goal within 5x: {'met' if ratio <= 5 else 'NOT met'}")
    print(f"  goal peak RSS < 16 GiB: {'met' if derive_rss < 16 * 2**30 else 'NOT met'}")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

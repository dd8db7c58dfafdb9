"""Benchmark: ingest a large CSV and compare with DuckDB's bare read_csv of the same file.

    python bench/ingest.py [--rows 10000000] [--runs 3] [--dir /tmp/sc-bench]

Both loads are separate processes on the same file, alternating ``--runs`` times; the script
prints the median (and range) of each, rows/s, peak RSS and the ratio of the medians (ingest
time / bare load time). Goals (issue 2): >= 1M rows/s
validated and stored, within 3x of the bare load, peak RSS < 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(seconds, peak RSS in bytes, stdout) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout = proc.stdout.read().decode()
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"command failed ({status}): {' '.join(cmd)}\n{stderr}")
    return seconds, usage.ru_maxrss * 1024, stdout


BARE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[2]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3, help="loads of each kind, alternating (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and databases")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="sc-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"records-{args.rows}.csv"
    if not data.exists():
        # generated in a child process, so that the parent stays small: a child's peak RSS
        # counts the pages it shares with its parent at fork
        t0 = time.perf_counter()
        gen = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"from records import write_file; from pathlib import Path; write_file(Path({str(data)!r}), {args.rows})"
        )
        run([sys.executable, "-c", gen])
        print(f"generated {args.rows:,} rows ({data.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s")
    exe = [str(Path(sys.executable).with_name("socialcredit"))]
    bare_db, sc_db = work / "bare.duckdb", work / "sc.duckdb"
    env = dict(os.environ, SOCIALCREDIT_PROGRESS="false")
    bare: list[tuple[float, int]] = []
    ingest: list[tuple[float, int]] = []
    summary: dict[str, int] = {}
    for _ in range(args.runs):
        # the two loads alternate, so that both see the machine in the same state
        for p in (bare_db, sc_db):
            p.unlink(missing_ok=True)
            Path(str(p) + ".wal").unlink(missing_ok=True)
            shutil.rmtree(str(p) + ".rejects", ignore_errors=True)
        bare_s, bare_rss, _ = run([sys.executable, "-c", BARE, str(bare_db), str(data)])
        bare.append((bare_s, bare_rss))
        run([*exe, "init", "--db", str(sc_db)], env)
        ing_s, ing_rss, out = run([*exe, "ingest", "--db", str(sc_db), "--json", str(data)], env)
        ingest.append((ing_s, ing_rss))
        summary = json.loads(out)
    rows = summary["rows"]
    print(f"{args.runs} run(s) of each, alternating; median (min-max)")
    for label, results in (
        ("bare DuckDB read_csv into a table", bare),
        ("socialcredit ingest (validated)", ingest),
    ):
        secs = sorted(s for s, _ in results)
        med = statistics.median(secs)
        rss = max(r for _, r in results)
        print(
            f"{label:34s} {med:7.2f} s ({secs[0]:.2f}-{secs[-1]:.2f}) {rows / med:12,.0f} rows/s  "
            f"peak RSS {rss / 2**30:.2f} GiB"
        )
    print(f"accepted {summary['accepted']:,}, duplicates {summary['duplicates']:,}, rejected {summary['rejected']:,}")
    ing_s = statistics.median(s for s, _ in ingest)
    ratio = ing_s / statistics.median(s for s, _ in bare)
    ratios = sorted(i / b for (i, _), (b, _) in zip(ingest, bare, strict=True))
    print(f"ratio ingest / bare load: {ratio:.2f}x (per run: {', '.join(f'{r:.2f}' for r in ratios)})")
    ing_rss = max(r for _, r in ingest)
    goals = [
        ("rows/s >= 1,000,000", rows / ing_s >= 1_000_000),
        ("within 3x of the bare load", ratio <= 3.0),
        ("peak RSS < 2 GiB", ing_rss < 2 * 2**30),
    ]
    for label, ok in goals:
        print(f"  goal {label}: {'met' if ok else 'NOT met'}")
    if not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

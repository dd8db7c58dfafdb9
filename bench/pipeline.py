"""Benchmark: the whole pipeline on a simulated city - simulate, ingest, derive.

    python bench/pipeline.py [--persons 1000000] [--years 5] [--dir /tmp/sc-bench-pipeline]

Each stage runs as the real CLI in its own child process; the script prints each stage's
time, rows (events) per second and peak RSS, plus, as a baseline measured in the same run,
DuckDB's bare read_csv of the same agency files into one table (what ingest does at least).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from dateutil.relativedelta import relativedelta

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import run

BARE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
files = sys.argv[2:]
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, union_by_name = true, all_varchar = true)", [files])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--error-rate", type=float, default=0.002)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the files and the database")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="sc-bench-pipeline-"))
    work.mkdir(parents=True, exist_ok=True)
    sim, db, bare_db = work / "files", work / "city.duckdb", work / "bare.duckdb"
    for p in (db, bare_db):
        p.unlink(missing_ok=True)
        shutil.rmtree(str(p) + ".rejects", ignore_errors=True)
    shutil.rmtree(sim, ignore_errors=True)
    exe = [str(Path(sys.executable).with_name("socialcredit"))]
    env = dict(os.environ, SOCIALCREDIT_PROGRESS="false")
    start = date.today() - relativedelta(years=args.years)
    sim_s, sim_rss, out = run(
        [
            *exe,
            "simulate",
            "--out",
            str(sim),
            "--persons",
            str(args.persons),
            "--years",
            str(args.years),
            "--start",
            str(start),
            "--error-rate",
            str(args.error_rate),
            "--json",
        ],
        env,
    )
    manifest = json.loads(out)
    files = [str(sim / f["file"]) for f in manifest["files"]]
    events = manifest["events"]
    size = sum(Path(f).stat().st_size for f in files)
    print(
        f"city: {args.persons:,} persons, {manifest['organisations']:,} organisations, {args.years} years; "
        f"{events:,} events in {len(files)} files ({size / 1e6:,.0f} MB)"
    )
    bare_s, bare_rss, _ = run([sys.executable, "-c", BARE, str(bare_db), *files])
    run([*exe, "init", "--db", str(db)], env)
    ing_s, ing_rss, out = run([*exe, "ingest", "--db", str(db), "--json", *files], env)
    summary = json.loads(out)
    der_s, der_rss, _ = run([*exe, "derive", "--db", str(db), "--json"], env)
    for label, secs, rss in (
        ("simulate", sim_s, sim_rss),
        ("bare read_csv of the files (baseline)", bare_s, bare_rss),
        ("ingest (validated, stored, refreshed)", ing_s, ing_rss),
        ("derive (full, every subject)", der_s, der_rss),
    ):
        print(f"{label:40s} {secs:8.2f} s {events / secs:12,.0f} events/s  peak RSS {rss / 2**30:.2f} GiB")
    print(f"ingest: accepted {summary['accepted']:,}, rejected {summary['rejected']:,} (injected errors)")
    print(f"ratio ingest / bare load: {ing_s / bare_s:.2f}x")
    print(f"whole pipeline (simulate + ingest + derive): {sim_s + ing_s + der_s:.1f} s")
    if not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

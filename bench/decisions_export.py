"""Benchmark: ``socialcredit decisions export`` of a large screening and many checks.

    python bench/decisions_export.py [--rows 10000000] [--checks 1000000] [--format csv]

Logs one screening of ``--rows`` codes through the real screening log writer and ``--checks``
checks into the decision log of a fresh database, then runs the export as a child process and
reports its time, rows/s and peak RSS (which must stay bounded: the export streams).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.catalog import load_default
from socialcredit.decide.screenlog import log_screening, new_screen_id
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

AS_OF = date(2026, 6, 1)


def build(db: Path, rows: int, checks: int) -> None:
    """A database with ``checks`` logged checks and one logged screening of ``rows`` codes."""
    with DuckDBStore(db, Settings()) as store:
        store.migrate()
        version = store.store_catalog(load_default())
        store.con.execute(
            """INSERT INTO decisions
               SELECT 'dec-' || lpad(i::VARCHAR, 12, '0'), TIMESTAMPTZ '2026-06-01 08:00:00+00' + to_microseconds(i),
                      'bench', NULL, lpad(i::VARCHAR, 18, '0'), 'flight.economy', i % 10 <> 0, TRUE, ?, NULL, ?,
                      'bench@2026-06-01', CASE WHEN i % 10 = 0 THEN '["high_consumption"]' ELSE '[]' END, NULL
               FROM range(?) t(i)""",
            [AS_OF, version, checks],
        )
        screen_id = new_screen_id()
        n = pa.array(range(1, rows + 1), pa.int64())
        text = n.cast(pa.string())
        denied = pc.equal(pc.bit_wise_and(n, 15), 0)
        result = pa.table(
            {
                "row": n,
                "subject_id": pc.utf8_lpad(text, 18, "0"),
                "valid": pa.repeat(pa.scalar(True), rows),
                "code": pc.utf8_lpad(text, 18, "0"),
                "known": pa.repeat(pa.scalar(True), rows),
                "allowed": pc.invert(denied),
                "restrictions": pc.if_else(denied, "high_consumption", pa.scalar(None, pa.string())),
                "lists": pc.if_else(denied, "judgment_defaulters", pa.scalar(None, pa.string())),
                "until": pa.nulls(rows, pa.date32()),
                "incentives": pa.nulls(rows, pa.string()),
                "decision_id": pc.binary_join_element_wise(screen_id, text, ":"),
            }
        )
        log_screening(
            store,
            screen_id,
            action="flight.economy",
            party="bench",
            purpose=None,
            as_of=AS_OF,
            catalog_version=version,
            data_version="bench@2026-06-01",
            source="index",
            rows=result,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the screening")
    parser.add_argument("--checks", type=int, default=1_000_000, help="logged checks")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        build(db, args.rows, args.checks)
        print(
            f"built: {args.checks:,} checks, a screening of {args.rows:,} rows in {time.perf_counter() - started:.1f} s"
        )
        out = Path(tmp) / f"export.{args.format}"
        command = [sys.executable, "-m", "socialcredit", "decisions", "export", "--db", str(db), "--out", str(out)]
        started = time.perf_counter()
        child = psutil.Popen([*command, "--format", args.format, "--json"], stdout=subprocess.PIPE)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, child.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        assert child.returncode == 0, f"export failed with status {child.returncode}"
        total = args.rows + args.checks
        print(
            f"export ({args.format}): {total:,} lines, {out.stat().st_size / 1e6:,.0f} MB in {seconds:.1f} s "
            f"({total / seconds:,.0f} lines/s), peak RSS {peak / 2**20:,.0f} MiB"
        )
        print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()

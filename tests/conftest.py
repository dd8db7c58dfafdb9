"""Shared test helpers: the real CLI as a subprocess, real files, real DuckDB databases.

Fixture policy: each test builds the smallest input it needs with the writers below; the
bundled sample files (socialcredit/data/sample) serve the end-to-end tests.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric, uscc

CORE = [
    "event_id",
    "source",
    "action",
    "record_id",
    "subject_id",
    "subject_name",
    "type",
    "decided_on",
    "document_no",
    "amount",
    "quantity",
]


@dataclass
class Result:
    """Outcome of one CLI run."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(*args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Result:
    """Run ``python -m socialcredit ARGS`` and capture its output."""
    full_env = {**os.environ, "SOCIALCREDIT_PROGRESS": "false", "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "socialcredit", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def person(region: str = "110105", birth: str = "19800101", seq: int = 1) -> str:
    """A valid citizen identity number."""
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def org(body: str = "91110105MA0000001") -> str:
    """A valid unified social credit code from a 17-character body."""
    return body + uscc.calc_check_digit(body)


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], header: list[str] | None = None) -> Path:
    """Write rows as CSV (header: core columns plus any extra keys, in order of appearance)."""
    rows = list(rows)
    if header is None:
        header = list(CORE)
        for row in rows:
            header += [k for k in row if k not in header]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row))
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]], gz: bool = False) -> Path:
    """Write rows as JSON Lines (optionally gzipped)."""
    text = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read_rejects(path: str | Path | None) -> list[dict[str, Any]]:
    """The rows of a rejects file (empty when there is none)."""
    if not path:
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def codes_by_event(rejects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """event_id -> the error codes of its rejected row."""
    return {r["event_id"]: {e["code"] for e in r["errors"]} for r in rejects}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A freshly initialised database with the default catalog."""
    path = tmp_path / "sc.duckdb"
    res = run_cli("init", "--db", path)
    assert res.code == 0, res.err
    return path


def ingest(db: Path, *files: Path, rejects: Path | None = None, env: Mapping[str, str] | None = None) -> Result:
    """Run ``ingest --json`` on files."""
    args: list[str | Path] = ["ingest", "--db", db, "--json", *files]
    if rejects is not None:
        args += ["--rejects", rejects]
    return run_cli(*args, env=env)


def event_count(db: Path) -> int:
    """Published events in a database (read with DuckDB directly)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        mark = con.execute("SELECT value FROM store_meta WHERE key = 'published_seq'").fetchall()
        limit = int(mark[0][0]) if mark else 0
        return int(con.execute("SELECT count(*) FROM events WHERE seq <= ?", [limit]).fetchall()[0][0])
    finally:
        con.close()

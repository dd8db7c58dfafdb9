"""Screening jobs of the HTTP service: an uploaded file of identity codes is screened for one
action in the background, one job after another, and every screened row is logged exactly as
``socialcredit screen`` logs it (the Arrow screening log plus a summary row of the decision
log) before the job is reported done.

Jobs are rows of ``screening_jobs``; their results are read from the screening log, so nothing
is kept twice. A job that was queued or running when the service stopped is marked failed when
the service starts again (its codes were held in memory only, and nothing was logged for it)."""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.decide import Decider, DecisionError
from socialcredit.decide.screen_io import ScreenInputError, read_codes, write_result
from socialcredit.decide.screenlog import read_screening, screening_log_dir
from socialcredit.store.duckdb_store import DuckDBStore

_PROGRESS = {"queued": 0.0, "answering": 0.1, "explaining": 0.5, "logging": 0.8, "done": 1.0, "failed": 1.0}
_SUFFIXES = (".csv", ".csv.gz", ".txt", ".parquet")
_COLUMNS = (
    "job_id",
    "key_id",
    "party",
    "purpose",
    "action",
    "as_of",
    "file",
    "rows",
    "status",
    "stage",
    "created_at",
    "started_at",
    "finished_at",
    "screen_id",
    "allowed",
    "restricted",
    "invalid",
    "error",
)


class UploadError(ValueError):
    """The uploaded file cannot be screened (its name or content)."""


@dataclass(frozen=True)
class Job:
    """A submitted screening: who asked, what, and the codes."""

    job_id: str
    key_id: str | None
    party: str
    purpose: str | None
    action: str
    as_of: date | None
    codes: pa.ChunkedArray


def read_upload(name: str, stream: BinaryIO, column: str | None, folder: Path) -> pa.ChunkedArray:
    """The codes of an uploaded CSV or Parquet file (UploadError if it cannot be read). The
    upload is copied to a temporary file under ``folder`` and removed once read."""
    safe = Path(name or "").name.lower()
    if not safe.endswith(_SUFFIXES):
        raise UploadError(f"{name!r}: name the file *.csv, *.csv.gz or *.parquet")
    folder.mkdir(parents=True, exist_ok=True)
    suffix = next(s for s in sorted(_SUFFIXES, key=len, reverse=True) if safe.endswith(s))
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix, delete=True) as tmp:
        while chunk := stream.read(1 << 20):
            tmp.write(chunk)
        tmp.flush()
        try:
            values = read_codes(Path(tmp.name), column)
        except ScreenInputError as exc:
            raise UploadError(str(exc).replace(tmp.name, name)) from None
    if len(values) == 0:
        raise UploadError(f"{name!r}: no codes to screen")
    return values


class ScreeningJobs:
    """The job table and the one worker thread that runs jobs in order."""

    def __init__(self, store: DuckDBStore, decider: Decider, lock: threading.RLock) -> None:
        self.store = store
        self.decider = decider
        self.lock = lock
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening")
        self.on_finish: Callable[[dict[str, Any]], None] | None = None
        # queued and running jobs, readable while the worker holds the store's lock
        self.live: dict[str, dict[str, Any]] = {}
        with self.lock:
            self.store.con.execute(
                "UPDATE screening_jobs SET status = 'failed', stage = 'failed', finished_at = ?, error = ? "
                "WHERE status IN ('queued', 'running')",
                [datetime.now(UTC), "the service stopped before the job finished; nothing was logged: submit it again"],
            )

    @property
    def uploads(self) -> Path:
        """Where uploads are spooled while they are read."""
        return screening_log_dir(self.store) / "uploads"

    def close(self) -> None:
        """Stop taking jobs; wait for the running one."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(
        self,
        *,
        key_id: str | None,
        party: str,
        purpose: str | None,
        action: str,
        as_of: date | None,
        file: str,
        codes: pa.ChunkedArray,
    ) -> dict[str, Any]:
        """Queue a job; its status row is written before this returns."""
        job = Job(f"job-{secrets.token_hex(6)}", key_id, party, purpose, action, as_of, codes)
        row = dict.fromkeys(_COLUMNS)
        row.update(
            job_id=job.job_id,
            key_id=key_id,
            party=party,
            purpose=purpose,
            action=action,
            as_of=as_of,
            file=Path(file).name,
            rows=len(codes),
            status="queued",
            stage="queued",
            created_at=datetime.now(UTC),
        )
        with self.lock:
            self.store.con.execute(
                f"INSERT INTO screening_jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [row[c] for c in _COLUMNS],
            )
            self.live[job.job_id] = row
        self.pool.submit(self._run, job)
        found = self.get(job.job_id)
        assert found is not None
        return found

    def _set(self, job_id: str, **values: Any) -> None:
        self.live[job_id].update(values)
        names = ", ".join(f"{k} = ?" for k in values)
        with self.lock:
            self.store.con.execute(f"UPDATE screening_jobs SET {names} WHERE job_id = ?", [*values.values(), job_id])

    def _stage(self, job_id: str, stage: str) -> None:
        self.live[job_id]["stage"] = stage

    def _run(self, job: Job) -> None:
        self._set(job.job_id, status="running", stage="answering", started_at=datetime.now(UTC))
        try:
            with self.lock:
                saved = self.decider.party
                self.decider.party = job.party
                try:
                    result = self.decider.screen(
                        job.codes,
                        job.action,
                        job.as_of,
                        job.purpose,
                        on_stage=lambda stage: self._stage(job.job_id, stage),
                    )
                finally:
                    self.decider.party = saved
                screen_id = str(result.column("decision_id")[0].as_py()).split(":")[0]
                valid = pc.fill_null(result.column("valid"), False)
                allowed = int(pc.sum(pc.and_(valid, result.column("allowed"))).as_py() or 0)
                n_valid = int(pc.sum(valid).as_py() or 0)
                self._set(
                    job.job_id,
                    status="done",
                    stage="done",
                    finished_at=datetime.now(UTC),
                    screen_id=screen_id,
                    allowed=allowed,
                    restricted=n_valid - allowed,
                    invalid=result.num_rows - n_valid,
                )
        except (DecisionError, LookupError, ValueError, OSError) as exc:
            self._set(job.job_id, status="failed", stage="failed", finished_at=datetime.now(UTC), error=str(exc))
        except Exception as exc:  # the worker must outlive any job: record what happened
            self._set(
                job.job_id, status="failed", stage="failed", finished_at=datetime.now(UTC), error=f"internal: {exc!r}"
            )
        finished = self.live.pop(job.job_id)
        if self.on_finish is not None:
            self.on_finish(finished)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A job's status row (with ``progress`` and, for queued jobs, ``ahead``), or None."""
        with self.lock:
            rows = self.store.con.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM screening_jobs WHERE job_id = ?", [job_id]
            ).fetchall()
            if not rows:
                return None
            job = dict(zip(_COLUMNS, rows[0], strict=True))
            ahead = None
            if job["status"] == "queued":
                ahead = int(
                    self.store.con.execute(
                        "SELECT count(*) FROM screening_jobs WHERE status IN ('queued', 'running') AND created_at < ?",
                        [job["created_at"]],
                    ).fetchall()[0][0]
                )
        job["progress"] = _PROGRESS.get(job["stage"], 0.0)
        job["ahead"] = ahead
        return job

    def result_file(self, job: dict[str, Any], fmt: str) -> Path:
        """The job's result as a temporary CSV or Parquet file (the caller removes it), read from
        the screening log."""
        path = screening_log_dir(self.store) / f"{job['screen_id']}.arrow"
        if not path.exists():
            raise FileNotFoundError(f"the screening log {path.name} is missing")
        _, table = read_screening(path)
        folder = screening_log_dir(self.store) / "results"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=f".{fmt}", delete=False) as tmp:
            target = Path(tmp.name)
        write_result(table, target)
        return target

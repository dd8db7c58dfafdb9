"""The platform as the HTTP service sees it: one store, one lock, answers and submissions.

DuckDB lets one process write a database file, and one connection is used by one thread at a
time: every request that touches the store holds ``lock`` (the store's write lock, which ingest
and derive take too). Decisions are written to the log before the answer is returned, by one
writer that commits the decisions of concurrent requests together (``decisionlog``)."""

from __future__ import annotations

import gc
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.api.decisionlog import DecisionLogWriter
from socialcredit.api.errors import ApiError
from socialcredit.api.keys import ApiKey, active_keys
from socialcredit.api.lists import list_page, published_lists
from socialcredit.api.metrics import ServiceMetrics
from socialcredit.api.screenings import ScreeningJobs
from socialcredit.decide import Decider, DecisionError
from socialcredit.decide.index import DecisionIndex, Reasons
from socialcredit.decide.screenlog import screening_log_dir
from socialcredit.decide.service import canonical, decision_rows
from socialcredit.ingest import ingest_files
from socialcredit.settings import today
from socialcredit.store.duckdb_store import DuckDBStore


class Platform:
    """Answers and submissions over one store."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store
        self.settings = store.settings
        self.lock = store.write_lock
        with self.lock:
            self.decider = Decider(store, party="api")
            self.keys: dict[str, ApiKey] = active_keys(store)
        self.jobs = ScreeningJobs(store, self.decider, self.lock)
        self.log = DecisionLogWriter(store.cursor(), self.settings.decision_log_group_ms / 1000)
        # the decision index and the day it answers for (one object: read without the lock)
        self._current: tuple[date, DecisionIndex | None] | None = None
        self.metrics = ServiceMetrics()
        self.jobs.on_finish = self.metrics.job_finished
        self.metrics.watch(self._gauges)

    @property
    def catalog_version(self) -> str:
        """The active catalog's version."""
        return self.decider.catalog_version

    def close(self) -> None:
        """Finish the running screening job, then release the store."""
        self.jobs.close()
        self.log.close()
        with self.lock:
            self.store.close()

    # -- status --------------------------------------------------------------------------------

    def ready(self) -> dict[str, Any]:
        """Catalog and data versions, the last derive and whether answers are stale."""
        now = today(self.settings)
        with self.lock:
            state = self.decider.deriver.state()
            published = self.store.published_seq()
        reasons: list[str] = []
        if state is None:
            reasons.append("never derived: checks derive each subject on the fly (run `socialcredit derive`)")
        else:
            if state["as_of"] != now:
                reasons.append(f"derived for {state['as_of']}, today is {now}")
            if state["published_seq"] != published:
                reasons.append("events were published after the last derive")
            if state["catalog_version"] != self.catalog_version:
                reasons.append("the active catalog changed after the last derive")
        return {
            "status": "ready",
            "catalog_name": self.decider.catalog.catalog.name,
            "catalog_version": self.catalog_version,
            "data_version": str(state["data_version"]) if state else None,
            "derived_as_of": state["as_of"] if state else None,
            "derived_at": state["derived_at"] if state else None,
            "today": now,
            "published_seq": published,
            "stale": bool(reasons),
            "stale_reasons": reasons,
        }

    def _gauges(self) -> dict[str, Any]:
        live = [j["status"] for j in list(self.jobs.live.values())]
        jobs = {status: live.count(status) for status in ("queued", "running")}
        return {**self.ready(), "jobs": jobs, "keys": len(self.keys), "log_commits": self.log.groups}

    def catalog(self) -> dict[str, Any]:
        """The active catalog."""
        cat = self.decider.catalog
        return {"name": cat.catalog.name, "version": self.catalog_version, "catalog": cat.model_dump(mode="json")}

    # -- public lists --------------------------------------------------------------------------

    def published_lists(self) -> dict[str, str]:
        """Codes and names of the published lists."""
        return published_lists(self.decider.catalog)

    def list_page(self, list_code: str, q: str | None, page: int, size: int) -> dict[str, Any]:
        """One page of a published list on the date of the stored derive (ApiError ``not_ready``
        before the first derive)."""
        with self.lock:
            state = self.decider.deriver.state()
            if state is None:
                raise ApiError("not_ready", "nothing has been derived yet: run `socialcredit derive`")
            total, entries = list_page(self.store, self.decider.catalog, list_code, q, page, size)
        return {
            "list": list_code,
            "list_name": self.decider.catalog.lists[list_code].name,
            "as_of": state["as_of"],
            "data_version": str(state["data_version"]),
            "stale": state["as_of"] != today(self.settings),
            "q": q,
            "total": total,
            "page": page,
            "page_size": size,
            "pages": max(1, -(-total // size)),
            "entries": entries,
        }

    # -- decisions -----------------------------------------------------------------------------

    def check(
        self, items: list[tuple[str, str, str | None]], party: str, as_of: date | None
    ) -> list[dict[str, Any] | DecisionError]:
        """Answer (subject, action, purpose) items; every answer is logged before this returns
        (committed together with the answers of concurrent requests: see ``decisionlog``). An
        item with an invalid code gives its DecisionError instead of an answer."""
        answers: list[dict[str, Any]] = []
        purposes: list[str | None] = []
        with self.lock:
            index = self._index(as_of or today(self.settings))
            out = self.decider.answer_many([(subject, action) for subject, action, _ in items], as_of, party, index)
        for answer, (_, _, purpose) in zip(out, items, strict=True):
            if not isinstance(answer, DecisionError):
                answers.append(answer)
                purposes.append(purpose)
        self.log.write(decision_rows(answers, purposes))
        self.count(answers)
        return out

    def count(self, answers: list[dict[str, Any]]) -> None:
        """Count logged answers in the metrics."""
        allowed = sum(1 for a in answers if a["allowed"])
        self.metrics.decisions.labels("allowed").inc(allowed)
        self.metrics.decisions.labels("restricted").inc(len(answers) - allowed)

    def answer_at_once(
        self, subject: str, action: str, party: str, purpose: str | None
    ) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | None:
        """Today's answer and its decision log rows from the decision index alone, without the
        store and without waiting for the lock (the answer may leave once the rows are
        committed: ``log.commit``); None when answering needs the store: no current index, an
        invalid code, or a subject some measure of which governs the action and whose reasons
        the index does not hold. ``action`` must be catalogued."""
        current = self._current
        if current is None or current[0] != today(self.settings) or current[1] is None:
            return None
        index = current[1]
        try:
            code, kind = canonical(subject)
        except DecisionError:
            return None
        reasons: dict[str, Reasons] = {}
        if index.governed.get(code, 0) & index.bit[action]:
            kept = index.kept(code)
            if kept is None:
                return None
            reasons[code] = kept
        answer = self.decider.answer_indexed(index, [(code, kind, action)], index.as_of, party, reasons)[0]
        assert not isinstance(answer, DecisionError)  # the code is valid
        return answer, decision_rows([answer], [purpose])

    def _index(self, as_of: date) -> DecisionIndex | None:
        """The decision index of today's stored derive (built on first use, dropped when a
        submission changes the state; None when the stored derive does not answer for
        ``as_of``). Call with the lock held."""
        now = today(self.settings)
        if as_of != now:
            return None
        current = self._current
        if current is None or current[0] != now:
            current = self._current = (now, self.decider.fresh_index(now))
            # the index lives until the next submission: keep the cyclic garbage collector from
            # scanning its objects again and again (they are freed by reference counting; what
            # an earlier freeze kept is looked at once more here)
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return current[1]

    def subject_file(self, code: str, as_of: date | None) -> dict[str, Any]:
        """``show`` of a subject plus every decision about them: checks and screened rows
        (DecisionError if the code is invalid)."""
        with self.lock:
            answer = self.decider.show(code, as_of)
            checks = self.store.con.execute(
                "SELECT decision_id, decided_at, party, purpose, action, allowed, as_of, NULL FROM decisions "
                "WHERE subject_id = ? AND screen_id IS NULL",
                [answer["subject"]],
            ).fetchall()
            screenings = self.store.con.execute(
                "SELECT screen_id, decided_at, party, purpose, action, as_of FROM decisions WHERE screen_id IS NOT NULL"
            ).fetchall()
        found = [*checks, *screened_rows(self.store, answer["subject"], screenings)]
        found.sort(key=lambda r: (r[1], r[0]))
        names = ("decision_id", "decided_at", "party", "purpose", "action", "allowed", "as_of", "screen_id")
        answer["lookups"] = [dict(zip(names, r, strict=True)) for r in found]
        return answer

    # -- submissions ---------------------------------------------------------------------------

    def submit(self, rows: list[dict[str, Any]], source: str) -> dict[str, Any]:
        """Ingest rows of one agency as one batch, exactly as the CLI ingests a JSON Lines file;
        the summary carries the rejected rows inline (``index``: position in ``rows``)."""
        name = f"api-{source}-{_stamp()}.jsonl"
        with tempfile.TemporaryDirectory(prefix="socialcredit-api-") as tmp:
            upload = Path(tmp) / name
            with upload.open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            return self._ingest(upload, name, source, only_source=None, indexed=True)

    def submit_file(self, filename: str, stream: BinaryIO, source: str) -> dict[str, Any]:
        """Ingest an uploaded record file (CSV, JSON Lines, optionally gzipped, or Parquet) as one
        batch, exactly as the CLI ingests it; rows of another source than the key's are
        rejected row by row (``source_not_allowed``)."""
        original = Path(filename or "upload").name
        name = f"api-{source}-{_stamp()}-{original}"
        with tempfile.TemporaryDirectory(prefix="socialcredit-api-") as tmp:
            upload = Path(tmp) / name
            with upload.open("wb") as fh:
                while chunk := stream.read(1 << 20):
                    fh.write(chunk)
            return self._ingest(upload, name, source, only_source=source, indexed=False)

    def _ingest(
        self, upload: Path, name: str, source: str, *, only_source: str | None, indexed: bool
    ) -> dict[str, Any]:
        db = Path(self.store.path)
        rejects = db.with_name(db.name + ".rejects") / f"api-{source}-{_stamp()}.jsonl"
        with self.lock:
            self._current = None  # the state may change: the index is rebuilt on next use
            summary = ingest_files(self.store, [upload], rejects, only_source=only_source)
        data = summary.model_dump(mode="json")
        self.metrics.submitted.labels("accepted").inc(summary.accepted)
        self.metrics.submitted.labels("duplicate").inc(summary.duplicates)
        self.metrics.submitted.labels("rejected").inc(summary.rejected)
        for f in data["files"]:
            f["file"] = name
        inline: list[dict[str, Any]] = []
        if summary.rejects:
            with Path(summary.rejects).open(encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    number = int(r["line"]) if r.get("line") is not None else None
                    inline.append(
                        {
                            "index": number - 1 if indexed and number is not None else None,
                            "line": number,
                            "event_id": r.get("event_id"),
                            "errors": r["errors"],
                            "row": r.get("row") or {},
                        }
                    )
        data["rejects"] = inline
        data["rejects_file"] = rejects.name if summary.rejects else None
        return data


def screened_rows(store: DuckDBStore, code: str, screenings: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of logged screenings whose code is ``code``, as lookups."""
    folder = screening_log_dir(store)
    found: list[tuple[Any, ...]] = []
    for screen_id, decided_at, party, purpose, action, as_of in screenings:
        path = folder / f"{screen_id}.arrow"
        if not path.exists():
            continue
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
            hits = table.filter(pc.equal(table.column("code"), code))
            for decision_id, allowed in zip(
                hits.column("decision_id").to_pylist(), hits.column("allowed").to_pylist(), strict=True
            ):
                found.append((decision_id, decided_at, party, purpose, action, allowed, as_of, screen_id))
    return found


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")

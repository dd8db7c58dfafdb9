"""The platform as the HTTP service sees it: one store, one lock, answers and submissions.

DuckDB lets one process write a database file, and one connection is used by one thread at a
time: every request that touches the store holds ``lock`` (the store's write lock, which ingest
and derive take too). Decisions are written to the log before the answer is returned."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from socialcredit.api.keys import ApiKey, active_keys
from socialcredit.decide import Decider, DecisionError
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

    @property
    def catalog_version(self) -> str:
        """The active catalog's version."""
        return self.decider.catalog_version

    def close(self) -> None:
        """Release the store."""
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

    def catalog(self) -> dict[str, Any]:
        """The active catalog."""
        cat = self.decider.catalog
        return {"name": cat.catalog.name, "version": self.catalog_version, "catalog": cat.model_dump(mode="json")}

    # -- decisions -----------------------------------------------------------------------------

    def check(
        self, items: list[tuple[str, str, str | None]], party: str, as_of: date | None
    ) -> list[dict[str, Any] | DecisionError]:
        """Answer (subject, action, purpose) items; every answer is logged, in one write, before
        this returns. An item with an invalid code gives its DecisionError instead of an answer."""
        answers: list[dict[str, Any]] = []
        purposes: list[str | None] = []
        with self.lock:
            out = self.decider.answer_many([(subject, action) for subject, action, _ in items], as_of, party)
            for answer, (_, _, purpose) in zip(out, items, strict=True):
                if not isinstance(answer, DecisionError):
                    answers.append(answer)
                    purposes.append(purpose)
            self.decider.log_answers(answers, purposes)
        return out

    def subject_file(self, code: str, as_of: date | None) -> dict[str, Any]:
        """``show`` of a subject plus every decision about them (DecisionError if the code is invalid)."""
        with self.lock:
            answer = self.decider.show(code, as_of)
            rows = self.store.con.execute(
                "SELECT decision_id, decided_at, party, purpose, action, allowed, as_of FROM decisions "
                "WHERE subject_id = ? AND screen_id IS NULL ORDER BY decided_at, decision_id",
                [answer["subject"]],
            ).fetchall()
        names = ("decision_id", "decided_at", "party", "purpose", "action", "allowed", "as_of")
        answer["lookups"] = [dict(zip(names, r, strict=True)) for r in rows]
        return answer

    # -- submissions ---------------------------------------------------------------------------

    def submit(self, rows: list[dict[str, Any]], source: str) -> dict[str, Any]:
        """Ingest rows of one agency as one batch, exactly as the CLI ingests a JSON Lines file;
        the summary carries the rejected rows inline."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"api-{source}-{stamp}.jsonl"
        db = Path(self.store.path)
        rejects = db.with_name(db.name + ".rejects") / name
        with tempfile.TemporaryDirectory(prefix="socialcredit-api-") as tmp:
            upload = Path(tmp) / name
            with upload.open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            with self.lock:
                summary = ingest_files(self.store, [upload], rejects)
        data = summary.model_dump(mode="json")
        for f in data["files"]:
            f["file"] = name
        inline: list[dict[str, Any]] = []
        if summary.rejects:
            with Path(summary.rejects).open(encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    index = int(r["line"]) - 1
                    row = r.get("row") or {}
                    inline.append({"index": index, "event_id": r.get("event_id"), "errors": r["errors"], "row": row})
        data["rejects"] = inline
        data["rejects_file"] = rejects.name if summary.rejects else None
        return data

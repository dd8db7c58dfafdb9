"""The embedded store: one DuckDB file holding the event log, runs and catalogs."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import duckdb

from socialcredit.catalog.loader import catalog_from_json, catalog_json, catalog_version
from socialcredit.catalog.models import Catalog
from socialcredit.settings import Settings, get_settings
from socialcredit.store.base import EventRow, StoreError
from socialcredit.store.migrations import LATEST, MIGRATIONS

# The columns of an event that vary per row, for the run digest; the run's own columns
# (run_id, start time, file, catalog version) enter the run's digest directly.
EVENT_DIGEST = (
    "concat_ws(chr(31), seq, source, event_id, action, record_id, subject_id, subject_kind, "
    "subject_name, type, decided_on, document_no, amount, quantity, attrs, line)"
)

_EVENT_COLUMNS = (
    "seq, run_id, source, event_id, action, record_id, subject_id, subject_kind, subject_name, "
    "type, decided_on, document_no, amount, quantity, attrs, recorded_at, catalog_version, "
    "file, line"
)


def chain_digest(
    prev_digest: str,
    run_id: int,
    started: datetime,
    file: str,
    catalog_version: str,
    count: int,
    first: int | None,
    last: int | None,
    xor: str,
) -> str:
    """SHA-256 of a run chained to ``prev_digest``: the run's own columns, its events' count,
    first and last seq, and ``xor``, the XOR of the MD5 of every event's per-row columns
    (``EVENT_DIGEST``) in decimal ('0' for no events)."""
    content = (
        f"{prev_digest}|{run_id}|{started.astimezone(UTC).isoformat()}|{Path(file).name}|"
        f"{catalog_version}|{count}|{first}|{last}|{xor}"
    )
    return hashlib.sha256(content.encode()).hexdigest()


class DuckDBStore:
    """Store backed by a DuckDB database file (or ``:memory:``)."""

    def __init__(self, path: Path | str, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.path = str(path)
        # One writer at a time per store object (ingest checks chunk by chunk, then commits).
        self.write_lock = threading.RLock()
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.settings.memory_limit,
        }
        if self.settings.threads:
            config["threads"] = self.settings.threads
        if self.settings.temp_dir is not None:
            config["temp_directory"] = str(self.settings.temp_dir)
        elif self.path != ":memory:":
            config["temp_directory"] = self.path + ".tmp"
        try:
            self.con = duckdb.connect(self.path, config=config)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database file."""
        self.con.close()

    # -- schema -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        """Applied schema version (0 for an empty database)."""
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()[0]
        if not exists or not exists[0]:
            return 0
        row = self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> list[int]:
        """Apply missing migrations in one transaction each; returns the versions applied."""
        current = self.schema_version()
        if current > LATEST:
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this "
                f"socialcredit knows ({LATEST}); upgrade socialcredit"
            )
        applied = []
        if current == 0:
            self.con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                "description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                for statement in migration.statements:
                    self.con.execute(statement)
                self.con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [migration.version, migration.description, datetime.now(UTC)],
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            applied.append(migration.version)
        return applied

    def require_schema(self) -> None:
        """Fail with a clear message unless the database is initialised and current."""
        version = self.schema_version()
        if version == 0:
            raise StoreError(f"database {self.path} is not initialised: run `socialcredit init` first")
        if version != LATEST:
            raise StoreError(
                f"database {self.path} has schema version {version}, expected {LATEST}: "
                "run `socialcredit init` to migrate"
            )

    # -- catalogs ---------------------------------------------------------------------------

    def store_catalog(self, catalog: Catalog, activate: bool = True) -> str:
        """Keep a catalog (content and hash) and make it the active one; returns its version."""
        version = catalog_version(catalog)
        self.con.execute(
            "INSERT INTO catalogs SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM catalogs WHERE version = ?)",
            [version, catalog.catalog.name, catalog_json(catalog), datetime.now(UTC), version],
        )
        if activate:
            self.con.execute("INSERT OR REPLACE INTO store_meta VALUES ('active_catalog', ?)", [version])
        return version

    def active_catalog(self) -> tuple[str, Catalog]:
        """The version and content of the active catalog."""
        self.require_schema()
        rows = self.con.execute(
            "SELECT c.version, c.content FROM store_meta s JOIN catalogs c ON c.version = s.value "
            "WHERE s.key = 'active_catalog'"
        ).fetchall()
        row = rows[0] if rows else None
        if row is None:
            raise StoreError(f"database {self.path} has no active catalog: run `socialcredit init`")
        return str(row[0]), catalog_from_json(str(row[1]))

    # -- publication ------------------------------------------------------------------------

    def published_seq(self) -> int:
        """The last published event: events above it belong to an ingest not yet finished
        (or one that died) and are invisible to every reader."""
        rows = self.con.execute("SELECT value FROM store_meta WHERE key = 'published_seq'").fetchall()
        return int(rows[0][0]) if rows else 0

    def publish(self, seq: int) -> None:
        """Make every event up to ``seq`` visible (call inside the run's transaction)."""
        self.con.execute("INSERT OR REPLACE INTO store_meta VALUES ('published_seq', ?)", [str(seq)])

    def discard_unpublished(self) -> int:
        """Remove events above the watermark: rows of an ingest that failed or was killed
        before it published. They were never visible, so the published log is unchanged."""
        mark = self.published_seq()
        removed = self.con.execute("DELETE FROM events WHERE seq > ?", [mark]).fetchall()
        return int(removed[0][0]) if removed else 0

    # -- integrity --------------------------------------------------------------------------

    def run_digest(
        self, prev_digest: str, run_id: int, started: datetime, file: str, catalog_version: str
    ) -> tuple[str, int | None, int | None, int]:
        """(digest, first seq, last seq, events) of one run, chained to ``prev_digest``.

        The digest is SHA-256 over the previous digest, the run's own columns and the XOR of
        the MD5 of every event's per-row columns, so that changing, adding, removing or
        re-numbering any stored event of the run, or any earlier run, changes it."""
        first, last, count, xor = self.con.execute(
            f"SELECT min(seq), max(seq), count(*), coalesce(CAST(bit_xor(md5_number({EVENT_DIGEST})) AS VARCHAR), '0') "
            "FROM events WHERE run_id = ?",
            [run_id],
        ).fetchall()[0]
        digest = chain_digest(prev_digest, run_id, started, file, catalog_version, int(count), first, last, str(xor))
        return digest, first, last, int(count)

    def verify_chain(self) -> list[dict[str, object]]:
        """Recompute every published run's digest from the stored events; one entry per run."""
        self.require_schema()
        report: list[dict[str, object]] = []
        prev = "0" * 64
        runs = self.con.execute(
            "SELECT run_id, started_at, file, catalog_version, digest, prev_digest, accepted "
            "FROM ingest_runs ORDER BY run_id"
        ).fetchall()
        for run_id, started, file, version, digest, prev_digest, accepted in runs:
            expected, _, _, count = self.run_digest(prev, int(run_id), started, str(file), str(version))
            problems = []
            if prev_digest != prev:
                problems.append("its link to the previous run does not match")
            if expected != digest:
                problems.append("its events or record changed since it was written")
            if count != accepted:
                problems.append(f"it holds {count} events but recorded {accepted}")
            report.append({"run_id": int(run_id), "file": str(file), "ok": not problems, "problems": problems})
            prev = str(digest)
        return report

    # -- reads ------------------------------------------------------------------------------

    def events_for_subject(self, subject_id: str) -> list[EventRow]:
        """Every event about one subject, in log order."""
        self.require_schema()
        cur = self.con.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE subject_id = ? AND seq <= ? ORDER BY seq",
            [subject_id, self.published_seq()],
        )
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur.fetchall():
            data = dict(zip(names, values, strict=True))
            data["attrs"] = json.loads(data["attrs"]) if data["attrs"] else {}
            data["amount"] = float(data["amount"]) if data["amount"] is not None else None
            rows.append(EventRow.model_validate(data))
        return rows

    def counts(self) -> dict[str, int]:
        """Sizes of the log: events, subjects, runs."""
        self.require_schema()
        mark = self.published_seq()
        row = self.con.execute(
            "SELECT (SELECT count(*) FROM events WHERE seq <= ?), "
            "(SELECT count(*) FROM subjects), (SELECT count(*) FROM ingest_runs)",
            [mark],
        ).fetchall()[0]
        assert row is not None
        return {"events": int(row[0]), "subjects": int(row[1]), "runs": int(row[2])}

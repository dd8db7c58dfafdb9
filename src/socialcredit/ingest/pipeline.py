"""Ingest one agency file as one transaction, streamed in chunks of rows.

For each chunk (all inside the file's transaction):
1. resolve follow-up events to their records (in the log, which already holds the earlier
   chunks of this file, or in the chunk itself); follow-ups whose record is not found yet
   are deferred to a final pass, since the record may come later in the file;
2. row-local checks generated from the catalog, identity codes validated in bulk (``chk``);
3. cross-row checks: duplicates and conflicts, record-id reuse, unknown or rejected records,
   rule bars that need history (re-listing, repair minimum), constraints on amended records;
4. append accepted rows to ``events``; keep rejected rows (with reasons) for the rejects file;
   flag subjects whose name disagrees with the one on file.
Then the deferred follow-ups, line numbers for irregular CSV, the run record (hash-chained),
the rejects file, and COMMIT. A file-level problem anywhere rolls everything back.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.catalog.models import AttributeSpec
from socialcredit.identity import bulk as id_bulk
from socialcredit.identity import codes as id_codes
from socialcredit.ingest import reading
from socialcredit.ingest.ahead import read_ahead
from socialcredit.ingest.digest import RunDigest
from socialcredit.ingest.reading import Source
from socialcredit.ingest.report import FileProblem, FileSummary
from socialcredit.ingest.sqlgen import (
    GIVEN_BITS,
    UNPARSABLE,
    VERBATIM,
    Check,
    attrs_json,
    condition_sql,
    err,
    errors_expr,
    ident,
    lit,
    render,
    row_checks,
    stage_select,
    typed_columns,
    typed_value,
)
from socialcredit.settings import today
from socialcredit.store.duckdb_store import DuckDBStore, chain_digest

Progress = Callable[[str, float | None], None]
"""Called with a description and the fraction of the file done (None when unknown)."""
_TEMP_TABLES = (
    "chk",
    "run_keys",
    "prior_cand",
    "rowfail",
    "fu",
    "prior",
    "repeats",
    "reused",
    "outcome",
    "fu_state",
    "deferred",
    "rej_all",
    "stage_json",
    "run_subjects",
    "odd_creates",
)


def _noop(_: str, __: float | None) -> None:
    return None


class RejectsWriter:
    """Appends rejected rows to one JSON Lines file, created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (flushed and synced before the batch commits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
            fh.flush()
            os.fsync(fh.fileno())
        self.written += len(rows)


@dataclass
class _Run:
    """State of one file's ingest."""

    source: Source
    run_id: int
    base_seq: int
    recorded_at: datetime
    rows: int = 0
    duplicates: int = 0
    flagged: int = 0
    size: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    digest: RunDigest = field(default_factory=RunDigest)


class Ingestor:
    """Ingests files into one store under its active catalog."""

    def __init__(self, store: DuckDBStore, progress: Progress | None = None, only_source: str | None = None) -> None:
        self.store = store
        self.con = store.con
        self.catalog_version, self.catalog = store.active_catalog()
        self.progress = progress or _noop
        self.chunk_rows = store.settings.ingest_chunk_rows
        self._plan = row_checks(self.catalog, today(store.settings), only_source)
        self._checks = self._plan.all
        # ``bad`` is evaluated on every row: in its cheaper form (same verdicts, see row_checks),
        # with the typed attribute values computed once per row
        self._fast = row_checks(self.catalog, today(store.settings), only_source, fast=True)
        self._typed = typed_columns(self.catalog)
        self._bad = self._fast.bad()
        # record types seen so far, most frequent first: their checks are matched first
        self._type_counts: Counter[str] = Counter()
        self._type_order: list[str] = []
        self._failed = self._plan.failed()
        self._attrs_json = attrs_json(self.catalog, self._typed)
        self._attributes = reading.attribute_names(self.catalog)
        self._raw_columns = list(reading.CORE_COLUMNS) + self._attributes
        # Attribute columns stay in the staged input; chk keeps only their JSON (smaller), and
        # of the other columns only what the cross-row checks and the append read.
        self._stage_only = ", ".join(ident(a) for a in [*_STAGE_ONLY, *self._attributes])
        self._from_stage = "".join(f", st.{ident(a)}" for a in [*_STAGE_ONLY, *self._attributes])

    # -- public -----------------------------------------------------------------------------

    def ingest_file(self, path: Path, rejects: RejectsWriter) -> FileSummary:
        """Ingest one file as one batch; file-level problems give status 'failed'.

        Chunks are checked one after the other and their accepted rows appended to ``events``
        above the published watermark (``store.published_seq``), where no reader sees them
        and checks of later chunks do. At the end one transaction records the run, its
        subjects and flags and moves the watermark: the whole file appears at once, or (on any
        problem) its unpublished rows are removed and nothing appears. Checking inside one long
        transaction instead would keep every replaced scratch table in memory until the
        commit. Rejected rows are written out before that transaction commits."""
        summary = FileSummary(file=str(path), status="ok")
        reader = self.con.cursor()
        try:
            with self.store.write_lock:
                self.store.discard_unpublished()
                try:
                    source = reading.open_source(path, self.catalog, reader)
                    summary.format = source.label
                    run = self._start_run(source, path)
                    ahead = read_ahead(lambda: self._read(source, reader), "ingest-read-ahead")
                    with contextlib.closing(ahead) as chunks:
                        for table, fraction in chunks:
                            self._chunk(run, table, final=False)
                            self.progress(f"{path.name}: {run.rows:,} rows checked", fraction)
                    self._deferred(run)
                    self.progress(f"{path.name}: publishing {run.rows:,} rows", 1.0)
                    self._finish(run, summary, rejects)
                except BaseException:
                    self.store.discard_unpublished()
                    raise
            return summary
        except FileProblem as problem:
            summary.status = "failed"
            summary.error = {"code": problem.code, "message": problem.message}
            summary.rows = summary.accepted = summary.duplicates = summary.rejected = 0
            summary.run_id = None
            return summary
        finally:
            reader.close()
            self._drop_temp()

    # -- run --------------------------------------------------------------------------------

    def _start_run(self, source: Source, path: Path) -> _Run:
        self.con.execute("SET preserve_insertion_order = false")
        run_id = int(self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs").fetchall()[0][0])
        base = self.store.published_seq()
        cols = ", ".join(f"{ident(c)} VARCHAR" for c in self._raw_columns)
        for statement in (
            f"CREATE OR REPLACE TEMP TABLE rej_all (_rn BIGINT, _line BIGINT, errors {_ERR_LIST}, "
            f"ids INTEGER[], {cols}, s_code VARCHAR, kind VARCHAR, s_birth DATE, "
            "_extra VARCHAR[], _parse_error VARCHAR)",
            f"CREATE OR REPLACE TEMP TABLE deferred (_rn BIGINT, _line BIGINT, {cols}, "
            "_extra VARCHAR[], _parse_error VARCHAR, _given BIGINT)",
            # hashes of the keys this run appended, with their seq (see _cross_checks)
            "CREATE OR REPLACE TEMP TABLE run_keys (h UBIGINT, seq BIGINT)",
            # creates recorded under a record id other than their event id (usually none)
            "CREATE OR REPLACE TEMP TABLE odd_creates AS SELECT DISTINCT source, record_id FROM events "
            f"WHERE action = 'create' AND record_id <> event_id AND seq <= {base}",
        ):
            self.con.execute(statement)
        size = path.stat().st_size
        return _Run(source, run_id, base, datetime.now(UTC), size=size)

    def _read(self, source: Source, reader: duckdb.DuckDBPyConnection) -> Iterator[tuple[pa.Table, float | None]]:
        """The file's chunks, prepared (CSV, Parquet) and each with the fraction of the file read
        (runs in the read-ahead thread, the only user of ``reader`` meanwhile)."""
        for table in source.chunks(reader, self.chunk_rows, self.store.settings.max_field_bytes):
            if source.format != "jsonl":
                table = prepare_chunk(table, self._raw_columns, self._attributes)
            yield table, _fraction(reader)

    def _chunk(self, run: _Run, table: pa.Table, final: bool) -> None:
        """Check and append one chunk of input rows (``final``: the deferred follow-ups); CSV and
        Parquet chunks come prepared (``prepare_chunk``)."""
        prepared = not final and run.source.format != "jsonl"
        self.con.register("cur", table)
        try:
            if final:
                self.con.execute("CREATE OR REPLACE TEMP VIEW stage AS SELECT * FROM deferred")
            elif run.source.format == "jsonl":
                # JSON extraction is costly: do it once per chunk.
                self._scratch("stage_json", stage_select(run.source, self.catalog, "cur"))
                self.con.execute("CREATE OR REPLACE TEMP VIEW stage AS SELECT * FROM stage_json")
            else:
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW stage AS {stage_select(run.source, self.catalog, 'cur')}"
                )
            n = int(self.con.execute("SELECT count(*) FROM stage").fetchall()[0][0])
            if not final:
                run.rows += n
            if n == 0:
                return
            self._resolve_followups(final)
            self._identities(prepared)
            self._row_checks()
            self._cross_checks(run)
            self._append(run)
        finally:
            self.con.unregister("cur")
            self.con.unregister("ids")

    def _deferred(self, run: _Run) -> None:
        """Follow-ups whose record was not found when their chunk was checked: the record
        may have come later in the file; now it is in the log or it never came."""
        pending = int(self.con.execute("SELECT count(*) FROM deferred").fetchall()[0][0])
        if pending:
            self._chunk(run, pa.table({"_rn": pa.array([], pa.int64())}), final=True)

    # -- per chunk ----------------------------------------------------------------------------

    def _scratch(self, name: str, sql: str) -> None:
        """Materialise a per-chunk result as the temporary table ``name``."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def _add_outcome(self, sql: str) -> None:
        """Append rows to the chunk's ``outcome`` (status and errors of rows not accepted)."""
        self.con.execute(f"INSERT INTO outcome {sql}")

    def _resolve_followups(self, final: bool) -> None:
        """For every follow-up row, the record it concerns: in the log or created in the chunk."""
        self._scratch(
            "fu",
            """
            WITH f AS (
                SELECT _rn, source, record_id FROM stage
                WHERE coalesce(lower(action), 'create') <> 'create' AND record_id IS NOT NULL
            ),
            logrec AS (
                SELECT e.source, e.record_id, e.subject_id, e.subject_kind, e.type, e.decided_on,
                       e.attrs, e.seq
                FROM events e SEMI JOIN f ON e.source = f.source AND e.record_id = f.record_id
                WHERE e.action = 'create'
            ),
            batchrec AS (
                SELECT s.source, coalesce(s.record_id, s.event_id) AS record_id,
                       arg_min(s.type, s._rn) AS type, min(s._rn) AS crn
                FROM stage s SEMI JOIN f
                  ON s.source = f.source AND coalesce(s.record_id, s.event_id) = f.record_id
                WHERE coalesce(lower(s.action), 'create') = 'create'
                GROUP BY ALL
            ),
            rejected AS (
                SELECT r.source, r.record_id, min(r._line) AS line
                FROM rej_all r SEMI JOIN f ON r.source = f.source AND r.record_id = f.record_id
                WHERE r.action = 'create' GROUP BY ALL
            )
            SELECT f._rn, l.subject_id AS r_subject, l.subject_kind AS r_kind,
                   coalesce(l.type, b.type) AS r_type, l.decided_on AS r_decided,
                   l.attrs AS r_attrs, l.seq AS r_seq, b.crn AS r_crn, x.line AS r_rejected_line
            FROM f LEFT JOIN logrec l USING (source, record_id)
                   LEFT JOIN batchrec b USING (source, record_id)
                   LEFT JOIN rejected x USING (source, record_id)
            """,
        )
        if not final:
            # Not found anywhere yet: keep for the final pass (the record may come later).
            cols = ", ".join(ident(c) for c in ["_rn", "_line", *self._raw_columns, "_extra", "_parse_error", "_given"])
            self.con.execute(
                f"""
                INSERT INTO deferred SELECT {cols} FROM stage
                WHERE _rn IN (SELECT _rn FROM fu WHERE r_seq IS NULL AND r_crn IS NULL
                              AND r_rejected_line IS NULL)
                """
            )
            self.con.execute(
                "CREATE OR REPLACE TEMP VIEW stage_kept AS SELECT * FROM stage "
                "WHERE _rn NOT IN (SELECT _rn FROM deferred)"
            )
        else:
            self.con.execute("CREATE OR REPLACE TEMP VIEW stage_kept AS SELECT * FROM stage")

    def _identities(self, prepared: bool) -> None:
        """``stage_now``: the kept rows with their identity codes validated in bulk. Prepared
        chunks (CSV, Parquet) carry them already; otherwise they are computed here."""
        if prepared:
            self.con.execute("CREATE OR REPLACE TEMP VIEW stage_now AS SELECT * FROM stage_kept")
            return
        table = self.con.sql("SELECT _rn, subject_id, person_id FROM stage_kept").to_arrow_table()
        ids = pa.table({"_rn": table.column("_rn"), **identity_columns(table)})
        self.con.register("ids", ids)
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW stage_now AS "
            "SELECT st.*, i.* EXCLUDE (_rn) FROM stage_kept st JOIN ids i ON i._rn = st._rn"
        )

    def _row_checks(self) -> None:
        """Build ``chk``: normalised values, effective type and kind, row-local errors."""
        single = " ".join(
            f"WHEN {lit(code)} THEN {lit(rt.subjects[0])}"
            for code, rt in self.catalog.record_types.items()
            if len(rt.subjects) == 1
        )
        single_kind = f"CASE etype {single} END" if single else "NULL"
        amount_re = lit(r"^[+-]?[0-9]+(\.[0-9]{1,2})?$")
        num_re = lit(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
        date_re = lit(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        exclude = f" EXCLUDE ({', '.join([self._stage_only, *self._typed.values()])})"
        typed = "".join(f", {sql} AS {alias}" for sql, alias in self._typed.items())
        self._scratch(
            "chk",
            f"""
            WITH a AS (
                SELECT st.* REPLACE (coalesce(lower(st.action), 'create') AS action) FROM stage_now st
            ),
            b AS (
                SELECT a.* REPLACE (
                        coalesce(a.record_id, CASE WHEN a.action = 'create' THEN a.event_id END) AS record_id),
                       CASE WHEN fu.r_type IS NOT NULL THEN fu.r_type ELSE a.type END AS etype,
                       fu.r_subject, fu.r_kind, fu.r_decided, fu.r_attrs, fu.r_seq, fu.r_crn,
                       fu.r_rejected_line, fu._rn IS NOT NULL AS is_fu,
                       CASE WHEN regexp_matches(a.decided_on, {date_re})
                            THEN TRY_CAST(a.decided_on AS DATE) END AS decided,
                       CASE WHEN regexp_matches(a.amount, {amount_re})
                            THEN TRY_CAST(a.amount AS DECIMAL(18, 2)) END AS amount_v,
                       CASE WHEN regexp_matches(a.quantity, {num_re})
                            THEN TRY_CAST(a.quantity AS DOUBLE) END AS quantity_v
                FROM a LEFT JOIN fu ON fu._rn = a._rn
            ),
            c AS (
                SELECT b.*,
                    CASE
                        WHEN s_code IS NULL THEN NULL
                        WHEN subject_kind = 'person' THEN CASE WHEN s_person THEN 'person' END
                        WHEN subject_kind = 'organisation' THEN CASE WHEN s_org THEN 'organisation' END
                        WHEN s_person AND s_org THEN coalesce({single_kind}, 'person')
                        WHEN s_person THEN 'person'
                        ELSE 'organisation'
                    END AS kind{typed}
                FROM b
            ),
            d AS (
                SELECT c.*, {self._bad} AS bad, {self._attrs_json} AS attrs FROM c
            )
            SELECT d.*{exclude} FROM d
            """,
        )
        self._learn_types()
        # Which checks the bad rows fail (evaluated, and planned, only when there are some).
        bad = int(self.con.execute("SELECT count(*) FROM chk WHERE bad").fetchall()[0][0])
        if not bad:  # (most chunks) no join with the staged input needed
            self._scratch("rowfail", "SELECT CAST(NULL AS BIGINT) AS _rn, CAST([] AS INTEGER[]) AS ids LIMIT 0")
            return
        self._scratch(
            "rowfail",
            f"SELECT _rn, CAST({self._failed} AS INTEGER[]) AS ids FROM "
            f"(SELECT c.*{self._from_stage} FROM chk c JOIN stage_now st ON st._rn = c._rn WHERE c.bad)",
        )

    def _learn_types(self) -> None:
        """Order the per-type checks of the next chunks by how often each type came so far
        (the type branches are tried one after the other; the answers do not change)."""
        for etype, n in self.con.execute(
            "SELECT etype, count(*) FROM chk WHERE etype IS NOT NULL GROUP BY ALL"
        ).fetchall():
            self._type_counts[str(etype)] += int(n)
        order = [t for t, _ in self._type_counts.most_common()]
        if order != self._type_order:
            self._type_order = order
            self._bad = self._fast.bad(order)

    def _cross_checks(self, run: _Run) -> None:
        """Build ``outcome`` for every row of the chunk that is not simply accepted."""
        # Keys already in the log: from earlier files (a scan of the published log), or from
        # earlier chunks of this file, found through the hashes of the run's keys (a join on
        # one integer instead of two strings over a run that grows chunk by chunk); a hash
        # match is confirmed on the key itself.
        same = _SAME.format(a="c", e="e")
        self._scratch(
            "prior_cand", "SELECT c._rn, k.seq FROM chk c JOIN run_keys k ON k.h = hash(c.source, c.event_id)"
        )
        in_run = ""
        if self.con.execute("SELECT count(*) FROM prior_cand").fetchall()[0][0]:
            in_run = f"""
            UNION ALL
            SELECT c._rn, {same}, e.seq, e.line, e.run_id
            FROM prior_cand k JOIN chk c ON c._rn = k._rn
              JOIN events e ON e.seq = k.seq AND e.source = c.source AND e.event_id = c.event_id
            WHERE e.seq > {run.base_seq}
            """
        # (an empty log has no published keys to scan)
        published = (
            f"SELECT c._rn, {same} AS same, e.seq AS prior_seq, e.line AS prior_line, e.run_id AS prior_run "
            "FROM chk c JOIN events e ON e.source = c.source AND e.event_id = c.event_id "
            f"WHERE e.seq <= {run.base_seq}"
            if run.base_seq
            else "SELECT CAST(NULL AS BIGINT) AS _rn, CAST(NULL AS BOOLEAN) AS same, "
            "CAST(NULL AS BIGINT) AS prior_seq, CAST(NULL AS BIGINT) AS prior_line, "
            "CAST(NULL AS BIGINT) AS prior_run WHERE FALSE"
        )
        self._scratch("prior", published + in_run)
        # Keys repeated within the chunk: rows after the first good occurrence compare to it
        # (a copy of a rejected row is checked on its own, as in a later file).
        self._scratch(
            "repeats",
            f"""
            WITH multi AS (
                SELECT source, event_id FROM chk
                WHERE event_id IS NOT NULL AND source IS NOT NULL
                GROUP BY ALL HAVING count(*) > 1
            ),
            k AS (
                SELECT c.source, c.event_id, min(c._rn) AS first_rn
                FROM chk c SEMI JOIN multi m ON m.source = c.source AND m.event_id = c.event_id
                WHERE NOT c.bad
                GROUP BY ALL
            )
            SELECT c._rn, {_SAME_ROWS} AS same, f._line AS first_line
            FROM chk c JOIN k ON c.source = k.source AND c.event_id = k.event_id
                       JOIN chk f ON f._rn = k.first_rn
            WHERE c._rn > k.first_rn
            """,
        )
        # Creates reusing a record id (in the log, or earlier in the chunk). Two creates whose
        # record ids equal their event ids cannot clash without their event ids clashing too
        # (a duplicate or conflict), so only creates with a record id of their own
        # ("odd" creates: usually none) need looking at.
        self._scratch(
            "reused",
            """
            WITH odd AS (
                SELECT DISTINCT source, record_id FROM chk
                WHERE action = 'create' AND record_id <> event_id AND NOT bad
                UNION
                SELECT source, record_id FROM odd_creates
            ),
            cand AS (
                SELECT c._rn, c.source, c.record_id, c.event_id FROM chk c
                SEMI JOIN odd o ON o.source = c.source AND o.record_id = c.record_id
                WHERE c.action = 'create' AND NOT c.bad
            ),
            k AS (
                SELECT source, record_id, min(_rn) AS first_rn FROM cand
                GROUP BY ALL HAVING count(*) > 1
            )
            SELECT c._rn, 'earlier in this file' AS origin FROM cand c
              JOIN k ON c.source = k.source AND c.record_id = k.record_id
            WHERE c._rn > k.first_rn
            UNION ALL
            SELECT c._rn, 'in the log (event #' || min(e.seq) || ')' FROM cand c
              JOIN events e ON e.source = c.source AND e.record_id = c.record_id
            WHERE e.action = 'create' AND e.event_id <> c.event_id
            GROUP BY c._rn
            """,
        )
        conflict_prior = err(
            "event_id",
            "conflict",
            "'event ' || c.event_id || ' of source ' || c.source || ' was already recorded ' || "
            "CASE WHEN p.prior_run = (SELECT max(run_id) FROM ingest_runs) + 1 "
            "THEN 'earlier in this file (line ' || p.prior_line || ')' "
            "ELSE '(event #' || p.prior_seq || ')' END || "
            "' with different content; send a correct event instead of changing an event'",
        )
        conflict_repeat = err(
            "event_id",
            "conflict",
            "'event ' || c.event_id || ' appears earlier in this file (line ' || r.first_line || ') '"
            "|| 'with different content'",
        )
        reuse = err(
            "record_id",
            "record_exists",
            "'record ' || c.record_id || ' of source ' || c.source || ' already exists ' || u.origin "
            "|| '; use a correct event to amend it'",
        )
        self._scratch(
            "outcome",
            f"""
            SELECT c._rn,
                CASE WHEN p.same OR r.same THEN 'duplicate' ELSE 'rejected' END AS status,
                CASE
                    WHEN p.same OR r.same THEN CAST(NULL AS {_ERR_LIST})
                    WHEN p._rn IS NOT NULL THEN [{conflict_prior}]
                    WHEN r._rn IS NOT NULL THEN [{conflict_repeat}]
                    WHEN u._rn IS NOT NULL THEN [{reuse}]
                END AS errors,
                CAST(CASE WHEN p._rn IS NULL AND r._rn IS NULL THEN f.ids END AS INTEGER[]) AS ids
            FROM chk c
              LEFT JOIN prior p ON p._rn = c._rn
              LEFT JOIN repeats r ON r._rn = c._rn
              LEFT JOIN (SELECT _rn, first(origin) AS origin FROM reused GROUP BY _rn) u ON u._rn = c._rn
              LEFT JOIN rowfail f ON f._rn = c._rn
            WHERE p._rn IS NOT NULL OR r._rn IS NOT NULL OR u._rn IS NOT NULL OR c.bad
            """,
        )
        self._followup_checks()
        self._bar_checks()

    def _followup_checks(self) -> None:
        """Follow-ups must reach an existing record of the same source (in the log or accepted
        in this chunk) and match its subject; amended records must still satisfy the type's
        constraints; repairs must respect the minimum publication period."""
        self._scratch(
            "fu_state",
            """
            SELECT c._rn,
                   coalesce(c.r_subject, b.s_code) AS rec_subject,
                   coalesce(c.r_kind, b.kind) AS rec_kind,
                   coalesce(c.r_decided, b.decided) AS rec_decided,
                   coalesce(c.r_attrs, b.attrs) AS rec_attrs,
                   coalesce(b._line, c.r_rejected_line) AS rec_line,
                   c.r_seq IS NULL AND (c.r_crn IS NULL OR o._rn IS NOT NULL) AS missing
            FROM chk c
              LEFT JOIN chk b ON b._rn = c.r_crn
              LEFT JOIN outcome o ON o._rn = c.r_crn AND o.status = 'rejected'
            WHERE c.is_fu AND c._rn NOT IN (SELECT _rn FROM outcome)
            """,
        )
        if not self.con.execute("SELECT count(*) FROM fu_state").fetchall()[0][0]:
            return  # (no follow-ups left to check in this chunk)
        checks = [
            Check(
                "s.missing AND s.rec_line IS NULL",
                err(
                    "record_id",
                    "unknown_record",
                    "'no record ' || c.record_id || ' from source ' || c.source "
                    "|| ' exists (neither in the log nor in this file)'",
                ),
            ),
            Check(
                "s.missing AND s.rec_line IS NOT NULL",
                err(
                    "record_id",
                    "unknown_record",
                    "'record ' || c.record_id || ' was rejected in this file (line ' || s.rec_line || ')'",
                ),
            ),
            Check(
                "NOT s.missing AND c.s_code IS NOT NULL AND c.s_code <> s.rec_subject",
                err(
                    "subject_id",
                    "record_mismatch",
                    "'record ' || c.record_id || ' concerns ' || s.rec_subject || ', not ' || c.s_code",
                ),
            ),
            Check(
                "NOT s.missing AND c.type IS NOT NULL AND c.type <> c.etype",
                err(
                    "type",
                    "record_mismatch",
                    "'record ' || c.record_id || ' is a ' || c.etype || ' record, not ' || c.type",
                ),
            ),
        ]
        for code, rt in self.catalog.record_types.items():
            for rule in rt.constraints:
                names = set(rule.when) | set(rule.then)
                if not names <= set(rt.attributes):
                    continue
                merged = {
                    n: f"coalesce({_row_value(n, spec)}, {_record_value(n, spec)})" for n, spec in rt.attributes.items()
                }
                when = " AND ".join(condition_sql(n, c, rt.attributes[n], merged[n]) for n, c in rule.when.items())
                then = " AND ".join(condition_sql(n, c, rt.attributes[n], merged[n]) for n, c in rule.then.items())
                checks.append(
                    Check(
                        f"NOT s.missing AND c.etype = {lit(code)} AND c.action IN ('correct', 'extend') "
                        f"AND {when} AND NOT ({then})",
                        err("attrs", rule.code, lit(rule.message + " (the amended record would break this rule)")),
                    )
                )
            checks.extend(self._repair_checks(code))
        self._add_outcome(
            f"""
            SELECT _rn, 'rejected', errors, CAST(NULL AS INTEGER[]) FROM (
                SELECT c._rn, {errors_expr(checks)} AS errors
                FROM fu_state s JOIN chk c ON c._rn = s._rn JOIN stage_now st ON st._rn = s._rn
            ) WHERE errors IS NOT NULL
            """
        )

    def _repair_checks(self, code: str) -> list[Check]:
        rt = self.catalog.record_types[code]
        sev = rt.publication.severity_attribute
        if sev is None or not any(b.rule == "repair_minimum" for b in rt.bars):
            return []
        checks = []
        for regime in self.catalog.publication_regimes.values():
            lo = f"s.rec_decided >= DATE {lit(str(regime.effective_from))}" if regime.effective_from else "TRUE"
            hi = f"s.rec_decided <= DATE {lit(str(regime.effective_until))}" if regime.effective_until else "TRUE"
            for severity, periods in regime.severities.items():
                earliest = f"CAST(s.rec_decided + {periods.minimum.sql_interval()} AS DATE)"
                checks.append(
                    Check(
                        f"NOT s.missing AND c.etype = {lit(code)} AND c.action = 'repair' AND {lo} AND {hi} "
                        f"AND json_extract_string(s.rec_attrs, {lit('$.' + sev)}) = {lit(severity)} "
                        f"AND c.decided < {earliest}",
                        err(
                            "decided_on",
                            "repair_too_early",
                            f"'a {severity} finding of ' || s.rec_decided || ' may be repaired from ' || "
                            f"{earliest} || "
                            f"{lit(f' (minimum {periods.minimum} under {regime.name}); repair requested on ')} "
                            "|| c.decided",
                        ),
                    )
                )
        return checks

    def _bar_checks(self) -> None:
        """Re-listing bars: a create barred for a period after a deletion of the same subject's
        record of that type, for the reasons the bar names."""
        for code, rt in self.catalog.record_types.items():
            for bar in rt.bars:
                if bar.rule != "relisting_after_deletion" or bar.period is None:
                    continue
                when = (
                    " AND ".join(
                        condition_sql(n, c, rt.attributes[n], f"json_extract_string(c.attrs, {lit('$.' + n)})")
                        for n, c in bar.when.items()
                    )
                    or "TRUE"
                )
                reasons = "[" + ", ".join(lit(r) for r in bar.reasons) + "]"
                same = ""
                if bar.same_attribute:
                    path = lit("$." + bar.same_attribute)
                    same = (
                        f"AND (json_extract_string(c.attrs, {path}) IS NULL OR "
                        f"json_extract_string(d.rec_attrs, {path}) IS NULL OR "
                        f"json_extract_string(c.attrs, {path}) = json_extract_string(d.rec_attrs, {path}))"
                    )
                until = f"CAST(d.decided + {bar.period.sql_interval()} AS DATE)"
                reason_text = " or ".join(bar.reasons).replace("_", " ")
                message = (
                    f"'a deletion (' || {lit(reason_text)} || ') on ' || d.decided || ' (' || "
                    f"coalesce(d.document_no, d.ref) || ') bars this new listing until ' || {until} || "
                    f"{lit(f' ({bar.period} after the deletion)')}"
                )
                candidates = self.con.execute(
                    f"SELECT count(*) FROM chk c WHERE c.etype = {lit(code)} AND c.action = 'create' AND {when} "
                    "AND c._rn NOT IN (SELECT _rn FROM outcome)"
                ).fetchall()[0][0]
                if not candidates:
                    continue  # nothing in this chunk the bar could apply to
                self._add_outcome(
                    f"""
                    WITH deletions AS (
                        SELECT e.subject_id, e.decided_on AS decided, e.document_no, r.attrs AS rec_attrs,
                               'event #' || e.seq AS ref
                        FROM events e JOIN events r ON r.source = e.source AND r.record_id = e.record_id
                             AND r.action = 'create'
                        WHERE e.type = {lit(code)} AND e.action = 'delist'
                          AND list_contains({reasons}, json_extract_string(e.attrs, '$.reason'))
                        UNION ALL
                        SELECT s.rec_subject, c.decided, c.document_no, s.rec_attrs, 'line ' || c._line
                        FROM chk c JOIN fu_state s ON s._rn = c._rn
                        WHERE c.etype = {lit(code)} AND c.action = 'delist' AND NOT s.missing
                          AND list_contains({reasons}, json_extract_string(c.attrs, '$.reason'))
                          AND c._rn NOT IN (SELECT _rn FROM outcome)
                    )
                    SELECT c._rn, 'rejected', [{err("type", "relisting_barred", message)}], CAST(NULL AS INTEGER[])
                    FROM chk c JOIN deletions d ON d.subject_id = c.s_code
                    WHERE c.etype = {lit(code)} AND c.action = 'create' AND {when}
                      AND c.decided >= d.decided AND c.decided <= {until} {same}
                      AND c._rn NOT IN (SELECT _rn FROM outcome)
                    QUALIFY row_number() OVER (PARTITION BY c._rn ORDER BY d.decided DESC) = 1
                    """
                )

    def _append(self, run: _Run) -> None:
        """Append the chunk's accepted rows; keep its rejected rows; count duplicates.
        The run's digest terms (see ``DuckDBStore.run_digest``) are taken from the same rows
        while they are in memory, instead of re-reading the run from ``events`` at the end."""
        accepted = f"""
            SELECT CAST({run.base_seq} + c._rn + 1 AS BIGINT) AS seq, c.source, c.event_id, c.action,
                   c.record_id, coalesce(s.rec_subject, c.s_code) AS subject_id,
                   coalesce(s.rec_kind, c.kind) AS subject_kind, c.subject_name, c.etype AS type,
                   CAST(c.decided AS DATE) AS decided_on, c.document_no,
                   CAST(c.amount_v AS DECIMAL(18, 2)) AS amount, CAST(c.quantity_v AS DOUBLE) AS quantity,
                   c.attrs, CAST(c._line AS BIGINT) AS line,
                   CASE WHEN c.is_fu THEN coalesce(c.r_seq, {run.base_seq} + c.r_crn + 1) END AS record_seq
            FROM chk c
              ANTI JOIN outcome o ON o._rn = c._rn
              LEFT JOIN fu_state s ON s._rn = c._rn
            """
        self.con.execute(
            f"""
            INSERT INTO events
            SELECT a.seq, {run.run_id}, a.source, a.event_id, a.action, a.record_id, a.subject_id,
                   a.subject_kind, a.subject_name, a.type, a.decided_on, a.document_no, a.amount,
                   a.quantity, a.attrs, ?, ?, ?, a.line, a.record_seq
            FROM ({accepted}) a
            """,
            [run.recorded_at, self.catalog_version, run.source.path.name],
        )
        run.digest.add(self.con, f"SELECT * FROM ({accepted}) a")
        self.con.execute(
            f"INSERT INTO run_keys SELECT hash(c.source, c.event_id), {run.base_seq} + c._rn + 1 "
            "FROM chk c ANTI JOIN outcome o ON o._rn = c._rn"
        )
        in_chk = set(reading.CORE_COLUMNS) - set(_STAGE_ONLY)
        cols = ", ".join(f"{'c' if col in in_chk else 'st'}.{ident(col)}" for col in self._raw_columns)
        self.con.execute(
            f"""
            INSERT INTO rej_all
            SELECT c._rn, c._line, o.errors, o.ids, {cols}, c.s_code, c.kind, st.s_birth, st._extra,
                   st._parse_error
            FROM outcome o JOIN chk c ON c._rn = o._rn JOIN stage_now st ON st._rn = o._rn
            WHERE o.status = 'rejected'
            """
        )
        self.con.execute(
            "INSERT INTO odd_creates SELECT DISTINCT c.source, c.record_id FROM chk c ANTI JOIN outcome o "
            "ON o._rn = c._rn WHERE c.action = 'create' AND c.record_id <> c.event_id"
        )
        dup = self.con.execute("SELECT count(*) FROM outcome WHERE status = 'duplicate'").fetchall()
        run.duplicates += int(dup[0][0])

    def _subjects(self, run: _Run) -> None:
        """Register the run's new subjects; flag names that disagree with the name on file
        (or with each other within the file)."""
        # One pass over the run; the list of names is built only for the few that vary. The
        # run's rows are first reduced to one per subject and name (a name seldom varies), so
        # that the string aggregates see few rows.
        self._scratch(
            "run_subjects",
            f"""
            SELECT subject_id,
                   any_value(kind) AS kind,
                   arg_min(subject_name, first_seq) AS first_name,
                   min(subject_name) AS low, max(subject_name) AS high,
                   min(first_seq) AS first_seq
            FROM (
                SELECT subject_id, subject_name, any_value(subject_kind) AS kind, min(seq) AS first_seq
                FROM events WHERE seq > {run.base_seq}
                GROUP BY ALL
            )
            GROUP BY ALL
            """,
        )
        flagged = self.con.execute(
            f"""
            INSERT INTO review_flags
            WITH odd AS (
                SELECT b.subject_id, b.first_seq, b.first_name, k.name AS known
                FROM run_subjects b LEFT JOIN subjects k USING (subject_id)
                WHERE b.low <> b.high OR b.low <> k.name OR b.high <> k.name
            ),
            names AS (
                SELECT e.subject_id, string_agg(DISTINCT e.subject_name, ' | ' ORDER BY e.subject_name) AS submitted
                FROM events e SEMI JOIN odd o ON o.subject_id = e.subject_id
                WHERE e.seq > {run.base_seq} AND e.subject_name IS NOT NULL
                GROUP BY ALL
            )
            SELECT o.first_seq, {run.run_id}, o.subject_id, 'name_mismatch', n.submitted,
                   coalesce(o.known, o.first_name), ?
            FROM odd o JOIN names n USING (subject_id)
            """,
            [run.recorded_at],
        ).fetchall()
        run.flagged = int(flagged[0][0]) if flagged else 0
        self.con.execute(
            """
            INSERT INTO subjects
            SELECT b.subject_id, b.kind, b.first_name, b.first_seq, ?
            FROM run_subjects b ANTI JOIN subjects k USING (subject_id)
            """,
            [run.recorded_at],
        )

    # -- end of file -------------------------------------------------------------------------

    def _finish(self, run: _Run, summary: FileSummary, rejects: RejectsWriter) -> None:
        """Count, then append the run to the log in one transaction with its record."""
        src = run.source
        if (src.format == "csv" and not src.regular_lines) or (src.format == "jsonl" and src.parse_rejects):
            self._fix_lines(run)
        rows = self._collect_rejects(run)
        accepted = int(self.con.execute(f"SELECT count(*) FROM events WHERE seq > {run.base_seq}").fetchall()[0][0])
        summary.run_id = run.run_id
        summary.rows = run.rows + len(src.parse_rejects)
        summary.accepted = accepted
        summary.duplicates = run.duplicates
        summary.rejected = len(rows)
        summary.flagged = run.flagged
        codes: Counter[str] = Counter()
        for row in rows:
            codes.update({e["code"] for e in row["errors"]})
        summary.errors_by_code = dict(sorted(codes.items()))
        if summary.accepted + summary.duplicates + summary.rejected != summary.rows:
            raise AssertionError(
                f"counts do not add up for {src.path}: {summary.accepted} + {summary.duplicates} + "
                f"{summary.rejected} != {summary.rows}"
            )
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._subjects(run)
            summary.flagged = run.flagged
            last = self._record_run(run, summary, rejects.path if rows else None)
            self.store.publish(last)
            if rows:
                rejects.write(rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _fix_lines(self, run: _Run) -> None:
        """Irregular files (CSV with blank lines, multi-line fields or unparsable records; JSON
        Lines with unparsable lines): recompute the physical line of every row (provisionally
        row ordinal + offset) and of every refused record. The rows are not yet published."""
        src = run.source
        if src.format == "csv":
            starts = list(reading.csv_line_starts(src.path, src.compressed, len(src.columns)))
            good = [s for s, ok in starts if ok]
            bad = [s for s, ok in starts if not ok]
            for rej, start in zip(src.parse_rejects, bad, strict=False):
                rej["line"] = start
            offset = 2
        else:
            refused = {int(r["line"]) for r in src.parse_rejects}  # type: ignore[call-overload]
            good = [n for n in range(1, src.read + len(refused) + 1) if n not in refused]
            offset = 1
        lines = pa.table({"rn": pa.array(range(len(good)), pa.int64()), "line": pa.array(good, pa.int64())})
        self.con.register("sc_lines", lines)
        self.con.execute(
            f"UPDATE events SET line = l.line FROM sc_lines l WHERE events.seq > {run.base_seq} "
            f"AND events.line = l.rn + {offset}"
        )
        self.con.execute("UPDATE rej_all SET _line = l.line FROM sc_lines l WHERE rej_all._rn = l.rn")
        run.digest.valid = False
        self.con.unregister("sc_lines")

    def _collect_rejects(self, run: _Run) -> list[dict[str, Any]]:
        """Rejected rows with their reasons and submitted values, in file order."""
        path = str(run.source.path)
        rows: list[dict[str, Any]] = []
        for rej in run.source.parse_rejects:
            rows.append(
                {
                    "file": path,
                    "line": rej["line"],
                    "event_id": None,
                    "errors": [
                        {
                            "field": "line",
                            "code": "malformed_row",
                            "message": _short(f"{str(rej['message']).rstrip('.')} ({str(rej['type']).lower()})"),
                        }
                    ],
                    "row": {"text": str(rej["text"]).lstrip("\r\n")},
                }
            )
        cur = self.con.execute("SELECT * EXCLUDE (_rn) FROM rej_all ORDER BY _rn")
        names = [d[0] for d in cur.description]
        records = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
        unparsable = {int(r["_line"]) for r in records if r["_parse_error"] in UNPARSABLE}
        texts = reading.read_lines(run.source.path, run.source.compressed, unparsable)
        for data in records:
            if data["_extra"] is not None:
                data["_extra"] = ", ".join(data["_extra"])
            failed = [self._checks[i] for i in data["ids"] or []]
            if data["_parse_error"] in UNPARSABLE:
                # an unparsable line: that is its one error, and its text is what was sent
                failed = [c for c in failed if c.code == "invalid_json"]
                data = {**dict.fromkeys(data), **{k: data[k] for k in ("_line", "ids", "errors", "_parse_error")}}
                data["text"] = texts.get(int(data["_line"]))
            errors = [{"field": c.field, "code": c.code, "message": render(c.message, data)} for c in failed]
            errors += [dict(e) for e in data["errors"] or []]
            for e in errors:
                if e["field"] == "subject_id" and e["code"] == "invalid_subject_id":
                    e["message"] = _identity_message(str(data["subject_id"]))
                elif e["code"] == "invalid_identity" and data.get(e["field"]):
                    e["message"] = _person_message(e["field"], str(data[e["field"]]))
            submitted = {k: v for k, v in data.items() if k in (*self._raw_columns, "text") and v is not None}
            rows.append(
                {
                    "file": path,
                    "line": data["_line"],
                    "event_id": data["event_id"],
                    "errors": errors,
                    "row": submitted,
                }
            )
        rows.sort(key=lambda r: (r["line"] is None, r["line"] or 0))
        return rows

    def _record_run(self, run: _Run, summary: FileSummary, rejects_path: Path | None) -> int:
        """Record the run and chain its digest to the previous run's."""
        prev = self.con.execute("SELECT digest FROM ingest_runs ORDER BY run_id DESC LIMIT 1").fetchall()
        prev_digest = str(prev[0][0]) if prev else "0" * 64
        terms = run.digest
        if terms.valid:
            first, last = terms.first, terms.last
            digest = chain_digest(
                prev_digest,
                run.run_id,
                run.recorded_at,
                str(run.source.path),
                self.catalog_version,
                terms.count,
                first,
                last,
                str(terms.xor),
            )
        else:  # stored rows changed after they were appended (line numbers): read them back
            digest, first, last, _ = self.store.run_digest(
                prev_digest, run.run_id, run.recorded_at, str(run.source.path), self.catalog_version
            )
        agg = (first, last)
        self.con.execute(
            "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                str(run.source.path),
                summary.format,
                run.recorded_at,
                datetime.now(UTC),
                self.catalog_version,
                summary.rows,
                summary.accepted,
                summary.duplicates,
                summary.rejected,
                summary.flagged,
                agg[0],
                agg[1],
                digest,
                prev_digest,
                str(rejects_path) if rejects_path else None,
            ],
        )
        return int(agg[1]) if agg[1] is not None else run.base_seq

    def _drop_temp(self) -> None:
        for statement in (
            "SET preserve_insertion_order = true",
            "DROP VIEW IF EXISTS stage_now",
            "DROP VIEW IF EXISTS stage_kept",
            "DROP VIEW IF EXISTS stage",
            *(f"DROP TABLE IF EXISTS {t}" for t in _TEMP_TABLES),
        ):
            with contextlib.suppress(duckdb.Error):
                self.con.execute(statement)


_ERR_LIST = "STRUCT(field VARCHAR, code VARCHAR, message VARCHAR)[]"

_STAGE_ONLY = (
    "decided_on",
    "amount",
    "quantity",
    "s_person",
    "s_org",
    "s_birth",
    "p_code",
    "p_person",
    "_extra",
    "_parse_error",
    "_given",
)
"""Staged columns that ``chk`` leaves out (it keeps their typed values, or needs them only
for the row checks it evaluates): read from ``stage_now`` for the few rows that need them."""

# Same content as a stored event (a re-submission): the submitted values, normalised, equal the
# stored ones. Fields a follow-up may omit (subject, type) count as equal when omitted.
_SAME = (
    "({a}.action = {e}.action AND {a}.record_id = {e}.record_id "
    "AND ({a}.subject_id IS NULL OR {a}.s_code IS NOT DISTINCT FROM {e}.subject_id) "
    "AND ({a}.subject_kind IS NULL OR {a}.subject_kind = {e}.subject_kind) "
    "AND {a}.subject_name IS NOT DISTINCT FROM {e}.subject_name "
    "AND ({a}.type IS NULL OR {a}.type = {e}.type) "
    "AND {a}.decided IS NOT DISTINCT FROM {e}.decided_on "
    "AND {a}.document_no IS NOT DISTINCT FROM {e}.document_no "
    "AND {a}.amount_v IS NOT DISTINCT FROM {e}.amount AND {a}.quantity_v IS NOT DISTINCT FROM {e}.quantity "
    "AND {a}.attrs IS NOT DISTINCT FROM {e}.attrs)"
)
# Same content as an earlier row of the chunk.
_SAME_ROWS = " AND ".join(
    f"c.{col} IS NOT DISTINCT FROM f.{col}"
    for col in (
        "action",
        "record_id",
        "subject_id",
        "s_code",
        "subject_kind",
        "subject_name",
        "type",
        "decided",
        "document_no",
        "amount_v",
        "quantity_v",
        "attrs",
    )
)


def _fraction(con: duckdb.DuckDBPyConnection) -> float | None:
    try:
        pct = float(con.query_progress())
    except duckdb.Error:
        return None
    return pct / 100 if 0 <= pct <= 100 else None


def _short(text: str, limit: int = 300) -> str:
    """A message cut to a readable length (the full row is kept beside it)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row_value(name: str, spec: AttributeSpec) -> str:
    return typed_value(name, spec, f"st.{ident(name)}")


def _record_value(name: str, spec: AttributeSpec) -> str:
    cast = {"integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}.get(spec.type)
    value = f"json_extract_string(s.rec_attrs, {lit('$.' + name)})"
    return f"TRY_CAST({value} AS {cast})" if cast else value


def _identity_message(raw: str) -> str:
    """A specific message for a subject code that is neither kind."""
    return f"subject_id {raw!r} is not valid " + id_codes.invalid_reasons(raw)


def _person_message(field_name: str, raw: str) -> str:
    """A specific message for an attribute that must be a citizen identity number."""
    try:
        id_codes.parse_person(raw)
    except id_codes.IdentityError as exc:
        return f"{field_name} {raw!r} is not a valid citizen identity number: {exc.message}"
    return f"{field_name} {raw!r} is not a valid citizen identity number"


def identity_columns(table: pa.Table) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The validated identity columns for a table's ``subject_id`` and ``person_id``."""
    n = table.num_rows
    subj = id_bulk.validate_codes(table.column("subject_id"))
    persons = table.column("person_id") if "person_id" in table.column_names else pa.nulls(n, pa.string())
    if persons.null_count == n:  # most chunks: no registry roles
        p_code: pa.Array | pa.ChunkedArray = pa.nulls(n, pa.string())
        p_ok: pa.Array | pa.ChunkedArray = pa.nulls(n, pa.bool_())
    else:
        pers = id_bulk.validate_codes(persons)
        p_code, p_ok = pers.column("code"), pers.column("person_ok")
    return {
        "s_code": subj.column("code"),
        "s_person": subj.column("person_ok"),
        "s_org": subj.column("org_ok"),
        "s_birth": subj.column("birth_date"),
        "p_code": p_code,
        "p_person": p_ok,
    }


def prepare_chunk(table: pa.Table, columns: list[str], attributes: Sequence[str]) -> pa.Table:
    """Normalise a CSV or Parquet chunk in Arrow (vectorised): empty text becomes null, codes
    and attributes are trimmed (names and document numbers stay verbatim), the identity
    codes are validated, and ``_given`` tells which of ``attributes`` (bit i for the i-th)
    each row gives (as ``given_sql`` does in SQL)."""
    out: dict[str, pa.Array | pa.ChunkedArray] = {"_rn": table.column("_rn")}
    n = table.num_rows
    for name in columns:
        if name not in table.column_names:
            out[name] = pa.nulls(n, pa.string())
            continue
        col = table.column(name)
        if col.null_count == n:  # (an attribute column no row of the chunk fills)
            out[name] = col
            continue
        if name not in VERBATIM:
            col = pc.utf8_trim_whitespace(col)
        out[name] = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    out.update(
        identity_columns(
            pa.table({"subject_id": out["subject_id"], "person_id": out.get("person_id", pa.nulls(n, pa.string()))})
        )
    )
    out["_given"] = _given_column([out[a] for a in attributes], n)
    return pa.table(out)


def _given_column(columns: Sequence[pa.Array | pa.ChunkedArray], n: int) -> pa.Array:
    """Bit i set where the i-th column is not null (null throughout when there are more
    columns than ``GIVEN_BITS``)."""
    if len(columns) > GIVEN_BITS:
        return pa.nulls(n, pa.int64())
    given = np.zeros(n, np.int64)
    for i, col in enumerate(columns):
        if col.null_count < n:
            given |= np.asarray(pc.is_valid(col), np.int64) << i
    return pa.array(given)


def iter_json_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    """Rows as JSON Lines text."""
    for row in rows:
        yield json.dumps(row, ensure_ascii=False, default=str) + "\n"

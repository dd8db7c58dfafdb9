"""Exporting the decision log: every logged check, and every screened row of every screening,
in the order they were decided, as CSV or JSON Lines.

A check is one row of the ``decisions`` table. A screening is one summary row there plus its
screening log file (``screenlog``); the export writes one line per screened row instead of the
summary row, with the row's decision id ``<screen_id>:<row>`` and its answer, and the
screening's party, purpose, action, date and versions from the file's metadata.

The export streams: the checks are read from the database in batches and each screening log
file one record batch at a time, so memory stays bounded however many rows a screening has.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from socialcredit.decide.screenlog import screening_log_dir
from socialcredit.store.duckdb_store import DuckDBStore

FORMATS = ("csv", "jsonl")
BATCH_ROWS = 65_536

SCHEMA = pa.schema(
    [
        ("decision_id", pa.string()),
        ("decided_at", pa.string()),
        ("party", pa.string()),
        ("purpose", pa.string()),
        ("subject_id", pa.string()),
        ("action", pa.string()),
        ("allowed", pa.bool_()),
        ("known", pa.bool_()),
        ("as_of", pa.date32()),
        ("known_at", pa.string()),
        ("catalog_version", pa.string()),
        ("data_version", pa.string()),
        ("screen_id", pa.string()),
        ("measures", pa.string()),
        ("lists", pa.string()),
        ("until", pa.date32()),
    ]
)
"""The exported columns, in order. ``measures`` and ``lists`` hold JSON lists (text)."""

COLUMNS = tuple(SCHEMA.names)

# the columns a screening log file must have
_SCREEN_COLUMNS = ("decision_id", "subject_id", "known", "allowed", "restrictions", "lists", "until", "incentives")

_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class ExportError(Exception):
    """The decision log cannot be exported whole (a screening's log file is missing or unreadable)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Window:
    """Which decisions to export: ``decided_at`` in [since, until), of one party if given."""

    since: datetime | None = None
    until: datetime | None = None
    party: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition on ``decisions`` and its parameters."""
        terms: list[str] = ["TRUE"]
        params: list[Any] = []
        if self.since is not None:
            terms.append("decided_at >= ?")
            params.append(self.since)
        if self.until is not None:
            terms.append("decided_at < ?")
            params.append(self.until)
        if self.party is not None:
            terms.append("party = ?")
            params.append(self.party)
        return " AND ".join(terms), params


@dataclass(frozen=True)
class Screening:
    """A logged screening in the window, with its log file checked."""

    screen_id: str
    path: Path
    rows: int
    meta: dict[str, str]


@dataclass
class ExportPlan:
    """What an export will write: how many checks, and the screenings with their files."""

    window: Window
    checks: int
    screenings: dict[str, Screening] = field(default_factory=dict)

    @property
    def screened_rows(self) -> int:
        """Rows of all the screenings in the window."""
        return sum(s.rows for s in self.screenings.values())

    @property
    def decisions(self) -> int:
        """Lines the export writes: the checks and every screened row."""
        return self.checks + self.screened_rows


def plan_export(store: DuckDBStore, window: Window) -> ExportPlan:
    """Count the checks in the window and open every screening's log file; ExportError naming
    each screening whose file is missing, unreadable or does not match its summary row."""
    where, params = window.where()
    checks = store.con.execute(f"SELECT count(*) FROM decisions WHERE {where} AND screen_id IS NULL", params)
    plan = ExportPlan(window, int(checks.fetchall()[0][0]))
    summaries = store.con.execute(
        f"SELECT screen_id, decided_at, measures FROM decisions WHERE {where} AND screen_id IS NOT NULL "
        "ORDER BY decided_at, decision_id",
        params,
    ).fetchall()
    folder = screening_log_dir(store)
    problems: list[str] = []
    for screen_id, decided_at, measures in summaries:
        path = folder / f"{screen_id}.arrow"
        expected = _logged_rows(measures)
        when = decided_at.astimezone(UTC).strftime(_TIME)
        try:
            meta, rows, columns = _open_log(path)
        except FileNotFoundError:
            problems.append(f"screening {screen_id} of {when} ({_rows(expected)}): its log file {path} is missing")
            continue
        except (OSError, pa.ArrowException) as exc:
            problems.append(f"screening {screen_id} of {when}: its log file {path} cannot be read ({exc})")
            continue
        missing = [c for c in _SCREEN_COLUMNS if c not in columns]
        if meta.get("screen_id") != screen_id:
            problems.append(f"screening {screen_id}: its log file {path} is of screening {meta.get('screen_id')!r}")
        elif missing:
            problems.append(f"screening {screen_id}: its log file {path} lacks the columns {', '.join(missing)}")
        elif expected is not None and rows != expected:
            problems.append(
                f"screening {screen_id}: its log file {path} holds {_rows(rows)}, the decision log says {expected}"
            )
        else:
            plan.screenings[screen_id] = Screening(screen_id, path, rows, meta)
    if problems:
        raise ExportError(problems)
    return plan


def _rows(n: int | None) -> str:
    return "rows unknown" if n is None else f"{n:,} row" + ("" if n == 1 else "s")


def _logged_rows(measures: str | None) -> int | None:
    """The row count a screening's summary row records."""
    try:
        value = json.loads(measures or "{}").get("rows")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) else None


def _open_log(path: Path) -> tuple[dict[str, str], int, list[str]]:
    """A screening log file's metadata, row count and columns (only its footer is read)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        meta = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
        return meta, int(reader.count_rows()), list(reader.schema.names)


def export_batches(store: DuckDBStore, plan: ExportPlan, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The exported rows (``SCHEMA``) in order of ``decided_at``, then decision id; a
    screening's rows in row order where its summary row sorts. No batch has more than
    ``batch_rows`` rows."""
    where, params = plan.window.where()
    query = f"""
        SELECT decision_id, strftime(decided_at, '{_TIME}') AS decided_at, party, purpose, subject_id, action,
               allowed, known, as_of, strftime(known_at, '{_TIME}') AS known_at, catalog_version, data_version,
               screen_id, measures, NULL::VARCHAR AS lists, NULL::DATE AS until
        FROM decisions WHERE {where}
        ORDER BY decided_at, decision_id
    """
    cursor = store.cursor()
    try:
        for batch in cursor.sql(query, params=params).to_arrow_reader(batch_rows):
            batch = _conform(batch)
            screens = pc.indices_nonzero(pc.is_valid(batch.column("screen_id"))).to_pylist()
            start = 0
            for at in screens:
                if at > start:
                    yield batch.slice(start, at - start)
                screening = plan.screenings[batch.column("screen_id")[at].as_py()]
                decided_at, purpose = batch.column("decided_at")[at].as_py(), batch.column("purpose")[at]
                yield from _screened(screening, decided_at, purpose, batch_rows)
                start = at + 1
            if start < batch.num_rows:
                yield batch.slice(start)
    finally:
        cursor.close()


def _conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of the export schema (the database may return other string or date types)."""
    if batch.schema.equals(SCHEMA):
        return batch
    arrays = [batch.column(i).cast(f.type) for i, f in enumerate(SCHEMA)]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _screened(
    screening: Screening, decided_at: str, summary_purpose: pa.Scalar, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """A screening's rows, one record batch of its log file (at most ``batch_rows``) at a time."""
    meta = screening.meta
    purpose = meta.get("purpose") or summary_purpose.as_py()
    constants: dict[str, Any] = {
        "decided_at": decided_at,
        "party": meta.get("party"),
        "purpose": purpose,
        "action": meta.get("action"),
        "as_of": date.fromisoformat(meta["as_of"]) if meta.get("as_of") else None,
        "known_at": None,
        "catalog_version": meta.get("catalog_version"),
        "data_version": meta.get("data_version"),
        "screen_id": screening.screen_id,
    }
    # read batch by batch (not memory-mapped): only the batch at hand is held in memory
    with pa.OSFile(str(screening.path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i).select(list(_SCREEN_COLUMNS))
            for offset in range(0, batch.num_rows, batch_rows):
                part = batch.slice(offset, batch_rows)
                yield _screened_batch(part, constants)


def _screened_batch(part: pa.RecordBatch, constants: dict[str, Any]) -> pa.RecordBatch:
    n = part.num_rows
    restrictions = pc.fill_null(part.column("restrictions").cast(pa.string()), "")
    incentives = pc.fill_null(part.column("incentives").cast(pa.string()), "")
    measures = pc.utf8_trim(pc.binary_join_element_wise(restrictions, incentives, ";"), ";")
    columns: dict[str, pa.Array] = {
        "decision_id": part.column("decision_id").cast(pa.string()),
        "subject_id": part.column("subject_id").cast(pa.string()),
        "allowed": part.column("allowed").cast(pa.bool_()),
        "known": part.column("known").cast(pa.bool_()),
        "measures": _json_lists(measures),
        "lists": _json_lists(part.column("lists").cast(pa.string())),
        "until": part.column("until").cast(pa.date32()),
    }
    arrays = [
        columns[f.name] if f.name in columns else pa.repeat(pa.scalar(constants[f.name], f.type), n) for f in SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _json_lists(values: pa.Array) -> pa.Array:
    """``a;b`` → ``["a","b"]`` (JSON text); null or empty → ``[]``."""
    text = pc.fill_null(values, "")
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('["', pc.replace_substring(escaped, ";", '","'), '"]', "")
    return pc.if_else(pc.equal(text, ""), pa.scalar("[]"), quoted)


# -- writing ----------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    """What an export wrote."""

    decisions: int
    checks: int
    screened_rows: int
    screenings: int
    format: str


def write_export(
    store: DuckDBStore,
    plan: ExportPlan,
    sink: BinaryIO,
    fmt: str,
    progress: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ExportSummary:
    """Write the export of ``plan`` to ``sink`` as ``csv`` (with a header) or ``jsonl``;
    ``progress`` is told the number of lines written after every batch."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    written = 0
    batches = export_batches(store, plan, batch_rows)
    if fmt == "csv":
        with pacsv.CSVWriter(sink, SCHEMA) as writer:
            for batch in batches:
                writer.write_batch(batch)
                written += batch.num_rows
                if progress is not None:
                    progress(written)
    else:
        cursor = store.cursor()
        try:
            for batch in batches:
                _write_json_lines(cursor, batch, sink)
                written += batch.num_rows
                if progress is not None:
                    progress(written)
        finally:
            cursor.close()
    sink.flush()
    return ExportSummary(written, plan.checks, plan.screened_rows, len(plan.screenings), fmt)


_JSON_LINE = (
    "to_json({"
    + ", ".join(f"'{c}': {c}::JSON" if c in ("measures", "lists") else f"'{c}': {c}" for c in COLUMNS)
    + "}) || chr(10) AS line"
)


def _write_json_lines(cursor: Any, batch: pa.RecordBatch, sink: BinaryIO) -> None:
    """One JSON object per row (``measures`` and ``lists`` as JSON values), written as one block."""
    if batch.num_rows == 0:
        return
    cursor.register("export_batch", batch)
    try:
        lines = cursor.sql(f"SELECT {_JSON_LINE} FROM export_batch").to_arrow_table().column(0)
    finally:
        cursor.unregister("export_batch")
    text = lines.combine_chunks().cast(pa.large_string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    if data is not None:
        start, end = int(offsets[0]), int(offsets[-1])
        sink.write(memoryview(data)[start:end])


def export_to_file(
    store: DuckDBStore, plan: ExportPlan, path: Path, fmt: str, progress: Callable[[int], None] | None = None
) -> ExportSummary:
    """``write_export`` into ``path`` through a temporary file beside it, renamed into place only
    when the whole export was written (a failed export leaves no partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as fh:
            summary = write_export(store, plan, fh, fmt, progress)
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def format_for(path: Path | None, fmt: str | None) -> str:
    """The export format: ``fmt`` when given, else from the file name (``.jsonl``/``.ndjson``
    give JSON Lines), else CSV."""
    if fmt is not None:
        return fmt
    if path is not None and path.name.lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "csv"

"""Reading agency files (CSV, JSON Lines, Parquet; CSV and JSON Lines may be gzipped) as a
stream of Arrow chunks in file order, with file-level problems reported as ``FileProblem``.

Each chunk carries ``_rn``, the 0-based ordinal of the row among the rows the reader
returned (for JSON Lines: among all physical lines, blank ones included).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from socialcredit.catalog.models import Catalog
from socialcredit.ingest.report import FileProblem

CORE_COLUMNS = (
    "event_id",
    "source",
    "action",
    "record_id",
    "subject_id",
    "subject_name",
    "subject_kind",
    "type",
    "decided_on",
    "document_no",
    "amount",
    "quantity",
)
REQUIRED_COLUMNS = ("event_id", "source", "subject_id", "type", "decided_on")
ROW_GROUP_ROWS = 122_880
"""Rows of a DuckDB row group; chunks of a file are read in whole row groups."""
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_ENCODING_HINT = "convert the file to UTF-8, e.g. `iconv -f GBK -t UTF-8 in.csv > out.csv`"


def attribute_names(catalog: Catalog) -> list[str]:
    """Every attribute name the catalog declares, for creates and follow-ups, sorted."""
    names: set[str] = set()
    for rt in catalog.record_types.values():
        names.update(rt.attributes)
        for fu in rt.follow_ups.values():
            names.update(fu.attributes)
    return sorted(names - set(CORE_COLUMNS))


def detect_format(path: Path) -> tuple[str, bool]:
    """(format, gzipped) from the name, confirmed by the first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise FileProblem("missing_file", f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileProblem("unreadable_file", f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise FileProblem("unreadable_file", f"{path}: permission denied") from None
    except OSError as exc:
        raise FileProblem("unreadable_file", f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise FileProblem("empty_file", f"{path}: the file is empty (not even a header)")
    name = path.name.lower()
    gz = head[:2] == _GZIP_MAGIC
    if name.endswith(".gz") and not gz:
        raise FileProblem("corrupt_gzip", f"{path}: named .gz but not gzip-compressed")
    base = name[:-3] if name.endswith(".gz") else name
    if head == _PARQUET_MAGIC or base.endswith(".parquet"):
        if gz:
            raise FileProblem("unsupported_format", f"{path}: gzipped Parquet is not supported")
        return "parquet", False
    if base.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl", gz
    if base.endswith((".csv", ".txt")):
        return "csv", gz
    raise FileProblem(
        "unsupported_format",
        f"{path}: unknown format; name files *.csv, *.jsonl or *.parquet (optionally .gz)",
    )


def _open_text(path: Path, gz: bool) -> io.TextIOWrapper:
    if gz:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _normalise(names: list[str]) -> list[str]:
    return [n.strip().lower() for n in names]


def read_csv_header(path: Path, gz: bool) -> list[str]:
    """The header of a CSV file (names stripped and lower-cased), checked to be UTF-8."""
    try:
        with gzip.open(path, "rb") if gz else path.open("rb") as fh:
            first = fh.readline(1 << 20)
        text = first.decode("utf-8-sig")
        header = next(csv.reader([text]), None)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            "not_utf8",
            f"{path}: the header line is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); {_ENCODING_HINT}",
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem("corrupt_gzip", f"{path}: cannot be decompressed ({exc})") from None
    except csv.Error as exc:
        raise FileProblem("malformed_header", f"{path}: the header line is malformed ({exc})") from None
    if not header or all(not h.strip() for h in header):
        raise FileProblem("empty_file", f"{path}: no header line")
    return _normalise(header)


def check_columns(path: Path, columns: list[str], catalog: Catalog) -> None:
    """File-level column checks: duplicates, required columns, unknown columns."""
    seen: dict[str, int] = {}
    dups = []
    for i, name in enumerate(columns, start=1):
        if not name:
            raise FileProblem("malformed_header", f"{path}: header column {i} has no name")
        if name in seen:
            dups.append(f"{name!r} (columns {seen[name]} and {i})")
        else:
            seen[name] = i
    if dups:
        raise FileProblem(
            "duplicate_columns",
            f"{path}: duplicate header names: {', '.join(dups)}; each column may appear once",
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        hint = ""
        if len(columns) == 1 and any(sep in columns[0] for sep in ";\t|"):
            hint = "; the header has a single column: is the file delimited by ';' or tabs? Use commas"
        raise FileProblem("missing_columns", f"{path}: missing required column(s): {', '.join(missing)}{hint}")
    known = set(CORE_COLUMNS) | set(attribute_names(catalog))
    unknown = [c for c in columns if c not in known]
    if unknown:
        tips = []
        for u in unknown:
            near = difflib.get_close_matches(u, sorted(known), n=1)
            tips.append(f"{u!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise FileProblem(
            "unknown_columns",
            f"{path}: unknown column(s) {', '.join(tips)}: neither core columns nor attributes "
            "of any catalogued record type; nothing is dropped silently, so fix or remove them",
        )


class NewlineCounter(threading.Thread):
    """Counts newline bytes of the (decompressed) file in the background."""

    def __init__(self, path: Path, gz: bool) -> None:
        super().__init__(daemon=True)
        self.path, self.gz = path, gz
        self.result: int | None = None
        self.ends_with_newline = True
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            total = 0
            last = b"\n"
            opener = gzip.open if self.gz else open
            with opener(self.path, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    total += chunk.count(b"\n")
                    last = chunk[-1:]
            self.result = total
            self.ends_with_newline = last == b"\n"
        except BaseException as exc:  # reported by the reader
            self.error = exc


def read_lines(path: Path, gz: bool, wanted: set[int]) -> dict[int, str]:
    """The text of the given physical lines (1-based), for rejects of unparsable lines."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    last = max(wanted)
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number in wanted:
                found[number] = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if number >= last:
                break
    return found


def csv_line_starts(path: Path, gz: bool, ncols: int) -> Iterator[tuple[int, bool]]:
    """(physical start line, well-formed?) of every data record, as Python's csv module sees
    the file: used only when blank lines or multi-line fields make line = row + 2 wrong."""
    csv.field_size_limit(2**31 - 1)
    with _open_text(path, gz) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        prev = reader.line_num
        for row in reader:
            start = prev + 1
            prev = reader.line_num
            if not row:
                continue
            yield start, len(row) == ncols


@dataclass
class Source:
    """One input file, read as Arrow chunks of text columns plus ``_rn``."""

    path: Path
    format: str
    compressed: bool
    columns: list[str]
    read: int = 0
    parse_rejects: list[dict[str, object]] = field(default_factory=list)
    regular_lines: bool = True
    counter: NewlineCounter | None = None
    parquet_names: dict[str, str] = field(default_factory=dict)
    parquet_types: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Format as shown to users (e.g. ``csv.gz``)."""
        return self.format + (".gz" if self.compressed else "")

    def chunks(self, con: duckdb.DuckDBPyConnection, chunk_rows: int, max_line: int) -> Iterator[pa.Table]:
        """Stream the file; raises FileProblem for file-level problems found while reading."""
        query, params = self._query(max_line)
        if self.counter is not None:
            self.counter.start()
        batch_rows = min(ROW_GROUP_ROWS, chunk_rows)
        # whole row groups per chunk (when the setting allows): the chunk's rows then go into
        # the database in full row groups, which no checkpoint has to merge later
        target = max(batch_rows, chunk_rows - chunk_rows % batch_rows)
        try:
            reader = con.sql(query, params=params).to_arrow_reader(batch_rows)
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                if held >= target:
                    yield self._emit(pending)
                    pending, held = [], 0
            if pending or self.read == 0:
                yield self._emit(pending, reader.schema)
        except (duckdb.IOException, OSError) as exc:
            # (DuckDB's read errors reach a streaming Arrow reader as OSError)
            raise FileProblem("corrupt_gzip" if self.compressed else "unreadable_file", f"{self.path}: {exc}") from None
        except duckdb.Error as exc:
            message = str(exc)
            if "unicode" in message.lower() or "utf-8" in message.lower():
                raise FileProblem("not_utf8", f"{self.path}: not UTF-8 text; {_ENCODING_HINT}") from None
            raise FileProblem("malformed_file", f"{self.path}: cannot be parsed as {self.format} ({message})") from None
        if self.format in ("csv", "jsonl"):
            self._after_text(con)

    def _emit(self, batches: list[pa.RecordBatch], schema: pa.Schema | None = None) -> pa.Table:
        table = pa.Table.from_batches(batches, schema=schema) if batches else pa.Table.from_batches([], schema=schema)
        n = table.num_rows
        table = table.append_column("_rn", pa.array(np.arange(self.read, self.read + n, dtype=np.int64)))
        self.read += n
        return table

    def _query(self, max_line: int) -> tuple[str, list[object]]:
        p = str(self.path)
        if self.format == "csv":
            cols = ", ".join(f"'{c}': 'VARCHAR'" for c in self.columns)
            return (
                f"SELECT * FROM read_csv(?, columns = {{{cols}}}, header = true, auto_detect = false, "
                "delim = ',', quote = '\"', escape = '\"', store_rejects = true, "
                "rejects_table = 'sc_reject_errors', rejects_scan = 'sc_reject_scans', "
                f"strict_mode = true, max_line_size = {max_line}, null_padding = false, "
                "encoding = 'utf-8', compression = 'auto')",
                [p],
            )
        if self.format == "jsonl":
            return (
                "SELECT * FROM read_csv(?, header = false, auto_detect = false, "
                "columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', "
                "strict_mode = false, encoding = 'utf-8', compression = 'auto', store_rejects = true, "
                "rejects_table = 'sc_reject_errors', rejects_scan = 'sc_reject_scans', "
                f"max_line_size = {max_line})",
                [p],
            )
        casts = ", ".join(self._parquet_cast(c) for c in self.columns)
        return f"SELECT {casts} FROM read_parquet(?)", [p]

    def _parquet_cast(self, column: str) -> str:
        original = self.parquet_names[column]
        quoted = '"' + original.replace('"', '""') + '"'
        if self.parquet_types[column].endswith("[]"):
            return f"array_to_string({quoted}, ';') AS \"{column}\""
        return f'CAST({quoted} AS VARCHAR) AS "{column}"'

    def _after_text(self, con: duckdb.DuckDBPyConnection) -> None:
        rejects = con.execute(
            "SELECT line, error_type, error_message, csv_line FROM sc_reject_errors ORDER BY line"
        ).fetchall()
        seen: set[int] = set()
        for line, etype, message, text in rejects:
            if str(etype) == "INVALID ENCODING":
                raise FileProblem(
                    "not_utf8",
                    f"{self.path}: not UTF-8 text (first bad bytes in the record at line {line}); {_ENCODING_HINT}",
                )
            if int(line) in seen:
                continue
            seen.add(int(line))
            self.parse_rejects.append({"line": int(line), "type": str(etype), "message": str(message), "text": text})
        if self.counter is None:
            return
        self.counter.join()
        if self.counter.error is not None:
            raise FileProblem(
                "corrupt_gzip" if self.compressed else "unreadable_file", f"{self.path}: {self.counter.error}"
            )
        records = self.read + len(self.parse_rejects)
        lines = (self.counter.result or 0) + (0 if self.counter.ends_with_newline else 1)
        # Regular: the header and every record are exactly one physical line each.
        self.regular_lines = lines == records + 1 and not self.parse_rejects


def open_source(path: Path, catalog: Catalog, con: duckdb.DuckDBPyConnection) -> Source:
    """Check the file and its columns; return a Source ready to stream."""
    fmt, gz = detect_format(path)
    if fmt == "csv":
        columns = read_csv_header(path, gz)
        check_columns(path, columns, catalog)
        src = Source(path, fmt, gz, columns)
        src.counter = NewlineCounter(path, gz)
        return src
    if fmt == "jsonl":
        return Source(path, fmt, gz, ["line"])
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise FileProblem("malformed_file", f"{path}: not a readable Parquet file ({exc})") from None
    originals = [str(r[0]) for r in described]
    columns = _normalise(originals)
    check_columns(path, columns, catalog)
    src = Source(path, fmt, False, columns)
    src.parquet_names = dict(zip(columns, originals, strict=True))
    src.parquet_types = {c: str(r[1]) for c, r in zip(columns, described, strict=True)}
    return src

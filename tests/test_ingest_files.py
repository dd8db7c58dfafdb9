"""Awkward input files through the real CLI into a real DuckDB database.

File-level problems (missing, unreadable, not UTF-8, truncated gzip, bad header): exit 2 and
nothing from that file is written. Row-level problems: the row goes to the rejects file with
its physical line, the rest of the file lands. Every summary's counts add up.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (
    Result,
    codes_by_event,
    event_count,
    ingest,
    org,
    person,
    read_rejects,
    run_cli,
    write_csv,
    write_jsonl,
)

# The columns of a minimal valid row, in file order.
MINIMAL = ["event_id", "source", "subject_id", "subject_name", "type", "decided_on", "document_no"]
SMALL_CHUNKS = {"SOCIALCREDIT_INGEST_CHUNK_ROWS": "1000"}


def row(event_id: str, **overrides: Any) -> dict[str, Any]:
    """A minimal valid traffic.violation row, with some values replaced."""
    base: dict[str, Any] = {
        "event_id": event_id,
        "source": "traffic",
        "subject_id": person(),
        "subject_name": "王芳",
        "type": "traffic.violation",
        "decided_on": "2025-01-02",
        "document_no": f"DOC-{event_id}",
    }
    base.update(overrides)
    return base


def csv_text(rows: Iterable[Mapping[str, Any]], header: list[str] | None = None, line_end: str = "\n") -> str:
    """Rows as CSV text with the given line ends (fields quoted only where needed)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header or MINIMAL, lineterminator=line_end)
    writer.writeheader()
    for r in rows:
        writer.writerow(dict(r))
    return buf.getvalue()


def check_counts(summary: dict[str, Any]) -> None:
    """accepted + duplicates + rejected = rows, in total and for every file, and the totals are
    the sums over the files."""
    assert summary["accepted"] + summary["duplicates"] + summary["rejected"] == summary["rows"], summary
    for f in summary["files"]:
        assert f["accepted"] + f["duplicates"] + f["rejected"] == f["rows"], f
    for key in ("rows", "accepted", "duplicates", "rejected"):
        assert summary[key] == sum(f[key] for f in summary["files"]), key


def summary_of(res: Result) -> dict[str, Any]:
    """The JSON summary of an ingest run, its counts checked."""
    summary: dict[str, Any] = res.json()
    check_counts(summary)
    return summary


def file_failure(res: Result, code: str) -> str:
    """Check a one-file run refused the file with ``code``; the error message."""
    assert res.code == 2, (res.out, res.err)
    summary = summary_of(res)
    assert summary["rows"] == 0
    assert summary["rejects"] is None
    [entry] = summary["files"]
    assert entry["status"] == "failed"
    assert entry["run_id"] is None
    assert entry["error"]["code"] == code, entry["error"]
    message: str = entry["error"]["message"]
    assert Path(entry["file"]).name in message
    assert "nothing from this file was written" in flat(res.err)
    return message


def flat(text: str) -> str:
    """Terminal output with the console's line wrapping undone."""
    return " ".join(text.split())


def stored_rows(db: Path) -> list[tuple[str, str]]:
    """(file, event_id) of every row in ``events``, published or not: leftovers of a failed
    run would show up here even though readers never see them."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [(str(f), str(e)) for f, e in con.execute("SELECT file, event_id FROM events ORDER BY seq").fetchall()]
    finally:
        con.close()


def events_of(db: Path, subject: str) -> list[dict[str, Any]]:
    """The events about a subject, as ``events SUBJECT --json`` shows them."""
    res = run_cli("events", subject, "--db", db, "--json")
    assert res.code == 0, res.err
    events: list[dict[str, Any]] = res.json()["events"]
    return events


def by_event(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["event_id"]: e for e in events}


def rejects_by_line(summary: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["line"]: r for r in read_rejects(summary["rejects"])}


def codes_of(reject: dict[str, Any]) -> set[str]:
    return {e["code"] for e in reject["errors"]}


# -- missing and unreadable files -------------------------------------------------------------


def test_missing_file_is_refused_and_named(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-agency-file.csv"
    res = ingest(db, missing)
    message = file_failure(res, "missing_file")
    assert "no such file" in message
    err = flat(res.err)
    assert str(missing) in err
    assert "no such file" in err
    assert event_count(db) == 0


def test_directory_given_as_file_is_refused(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    res = ingest(db, folder)
    message = file_failure(res, "unreadable_file")
    assert "directory" in message
    assert event_count(db) == 0


def test_stderr_shows_the_error_code(db: Path, tmp_path: Path) -> None:
    res = ingest(db, tmp_path / "gone.csv")
    assert res.code == 2
    assert "missing_file" in res.err


# -- encodings ------------------------------------------------------------------------------------


def gbk_file(path: Path) -> Path:
    rows = [row("G1", subject_name="王芳"), row("G2", subject_name="李娜", subject_id=person(seq=3))]
    path.write_bytes(csv_text(rows).encode("gbk"))
    return path


def test_gbk_file_is_refused_as_not_utf8(db: Path, tmp_path: Path) -> None:
    path = gbk_file(tmp_path / "gbk.csv")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    message = file_failure(ingest(db, path), "not_utf8")
    assert "UTF-8" in message
    assert "iconv" in message  # says how to convert
    assert event_count(db) == 0
    assert stored_rows(db) == []


def test_gbk_in_the_data_is_not_blamed_on_the_header(db: Path, tmp_path: Path) -> None:
    path = gbk_file(tmp_path / "gbk.csv")
    path.read_bytes().split(b"\n", 1)[0].decode("ascii")  # the header itself is plain ASCII
    message = file_failure(ingest(db, path), "not_utf8")
    assert "header" not in message


def test_gbk_byte_in_a_late_row_refuses_the_whole_file(db: Path, tmp_path: Path) -> None:
    good = csv_text([row(f"U{i}") for i in range(400)]).encode("utf-8")
    bad = csv_text([row("U-GBK", subject_name="李娜")]).split("\n", 1)[1].encode("gbk")
    path = tmp_path / "late.csv"
    path.write_bytes(good + bad)  # header on line 1, rows on lines 2-401, the GBK row on line 402
    rejects = tmp_path / "rej.jsonl"
    res = ingest(db, path, rejects=rejects, env=SMALL_CHUNKS)
    message = file_failure(res, "not_utf8")
    assert "line 402" in message
    assert event_count(db) == 0
    assert stored_rows(db) == []  # the rows checked before the bad bytes were found are gone
    assert not rejects.exists()


# -- truncated gzip -------------------------------------------------------------------------------


def big_csv_bytes(n: int, prefix: str, document_pad: int = 0) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MINIMAL)
    subject = person()
    pad = "x" * document_pad
    for i in range(n):
        writer.writerow([f"{prefix}{i}", "traffic", subject, "王芳", "traffic.violation", "2025-01-02", f"D{i}{pad}"])
    return buf.getvalue().encode()


def check_only_valid_file_lands_after(db: Path, tmp_path: Path) -> None:
    valid = write_csv(tmp_path / "valid.csv", [row(f"V{i}") for i in range(5)])
    res = ingest(db, valid)
    assert res.code == 0, res.err
    assert summary_of(res)["accepted"] == 5
    assert event_count(db) == 5
    assert stored_rows(db) == [("valid.csv", f"V{i}") for i in range(5)]


@pytest.mark.slow
def test_truncated_gzip_is_refused_and_leaves_nothing(db: Path, tmp_path: Path) -> None:
    compressed = gzip.compress(big_csv_bytes(200_000, "T"), compresslevel=1)
    path = tmp_path / "big.csv.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    res = ingest(db, path, env=SMALL_CHUNKS)
    message = file_failure(res, "corrupt_gzip")
    assert "gzip" in message.lower()
    assert event_count(db) == 0
    assert stored_rows(db) == []
    check_only_valid_file_lands_after(db, tmp_path)


@pytest.mark.slow
def test_gzip_truncated_after_several_chunks_is_a_file_problem(db: Path, tmp_path: Path) -> None:
    # ~105 MB of CSV cut at 90%: the break lies beyond what the reader buffers ahead, so
    # chunks of the file are checked (and appended above the watermark) before it is found.
    # (Cut at half, as above, the reader meets the break before the first chunk.)
    compressed = gzip.compress(big_csv_bytes(200_000, "T", document_pad=480), compresslevel=1)
    path = tmp_path / "big.csv.gz"
    path.write_bytes(compressed[: len(compressed) * 9 // 10])
    res = ingest(db, path, env={**SMALL_CHUNKS, "SOCIALCREDIT_THREADS": "2"})
    assert res.code == 2, res.err[-500:]
    file_failure(res, "corrupt_gzip")
    assert stored_rows(db) == []
    check_only_valid_file_lands_after(db, tmp_path)


# -- header problems ------------------------------------------------------------------------------


def test_missing_required_columns_are_listed(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("event_id,source,subject_name,document_no\nE1,traffic,王芳,D1\n", encoding="utf-8")
    res = ingest(db, path)
    message = file_failure(res, "missing_columns")
    listed = message.split("missing required column(s):", 1)[1]
    for column in ("subject_id", "type", "decided_on"):
        assert column in listed
    for present in ("event_id", "source"):
        assert present not in listed
    assert "delimited" not in message  # no delimiter hint for a comma-separated file
    assert "subject_id" in flat(res.err)
    assert event_count(db) == 0


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_wrong_delimiter_gets_a_hint(db: Path, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "agency.csv"
    lines = [MINIMAL, ["E1", "traffic", person(), "王芳", "traffic.violation", "2025-01-02", "D1"]]
    path.write_text("".join(delimiter.join(cells) + "\n" for cells in lines), encoding="utf-8")
    message = file_failure(ingest(db, path), "missing_columns")
    assert "delimited by ';' or tabs" in message
    assert "comma" in message.lower()
    assert event_count(db) == 0


def test_unknown_column_gets_a_did_you_mean(db: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "court.csv",
        [row("C1", source="court", type="court.defaulter", grond="2")],
    )
    res = ingest(db, path)
    message = file_failure(res, "unknown_columns")
    assert "'grond'" in message
    assert "did you mean 'ground'?" in message
    assert "did you mean 'ground'?" in flat(res.err)
    assert event_count(db) == 0


@pytest.mark.parametrize(
    "header",
    [
        ["event_id", "source", "subject_id", "subject_name", "type", "decided_on", "source"],
        ["event_id", "Source", "subject_id", "subject_name", "type", "decided_on", "source"],
        ["event_id", "SOURCE ", "subject_id", "subject_name", "type", "decided_on", " source"],
    ],
    ids=["same", "case", "case-and-spaces"],
)
def test_duplicate_header_names_are_refused(db: Path, tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "dup.csv"
    data = ["E1", "traffic", person(), "王芳", "traffic.violation", "2025-01-02", "traffic"]
    path.write_text(",".join(header) + "\n" + ",".join(data) + "\n", encoding="utf-8")
    message = file_failure(ingest(db, path), "duplicate_columns")
    assert "'source' (columns 2 and 7)" in message
    assert event_count(db) == 0


# -- empty files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.parquet"])
def test_zero_byte_file_is_refused_as_empty(db: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    message = file_failure(ingest(db, path), "empty_file")
    assert "empty" in message


def test_gzip_of_nothing_is_refused_as_empty(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    file_failure(ingest(db, path), "empty_file")


def test_header_only_file_is_fine_and_has_no_rows(db: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "header.csv", [])
    assert path.read_text(encoding="utf-8").count("\n") == 1
    res = ingest(db, path)
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert summary["rows"] == summary["accepted"] == summary["rejected"] == 0
    assert summary["rejects"] is None
    assert summary["files"][0]["status"] == "ok"
    assert summary["files"][0]["error"] is None
    assert event_count(db) == 0


# -- BOM and CRLF ---------------------------------------------------------------------------------


def test_bom_and_crlf_line_ends(db: Path, tmp_path: Path) -> None:
    rows = [row("B1"), row("B2"), row("B3", decided_on="2025-13-01"), row("B4")]
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(rows, line_end="\r\n").encode("utf-8"))
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (4, 3, 1)
    [reject] = read_rejects(summary["rejects"])
    assert reject["event_id"] == "B3"
    assert reject["line"] == 4  # header on line 1
    assert codes_of(reject) == {"invalid_date"}
    stored = by_event(events_of(db, person()))
    assert {k: v["line"] for k, v in stored.items()} == {"B1": 2, "B2": 3, "B4": 5}
    # the last column carries no stray carriage return
    assert stored["B4"]["document_no"] == "DOC-B4"


# -- long fields ----------------------------------------------------------------------------------


def test_100kb_field_is_rejected_whole_and_kept(db: Path, tmp_path: Path) -> None:
    long_name = "王芳" * 17_000
    assert len(long_name.encode("utf-8")) >= 100_000
    path = write_csv(tmp_path / "long.csv", [row("L1"), row("L2", subject_name=long_name), row("L3")])
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert summary["errors_by_code"] == {"too_long": 1}
    [reject] = read_rejects(summary["rejects"])
    assert reject["event_id"] == "L2"
    assert reject["line"] == 3
    assert [(e["field"], e["code"]) for e in reject["errors"]] == [("subject_name", "too_long")]
    assert reject["row"]["subject_name"] == long_name  # nothing lost
    assert set(by_event(events_of(db, person()))) == {"L1", "L3"}


def test_200kb_field_in_a_file_with_a_multiline_record(db: Path, tmp_path: Path) -> None:
    long_name = "x" * 200_000
    rows = [row("L1", document_no="two\nlines"), row("L2", subject_name=long_name), row("L3")]
    path = write_csv(tmp_path / "long.csv", rows)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err[-500:]
    summary = summary_of(res)
    [reject] = read_rejects(summary["rejects"])
    assert (reject["event_id"], reject["line"]) == ("L2", 4)
    assert codes_of(reject) == {"too_long"}
    assert reject["row"]["subject_name"] == long_name


# -- quotes and embedded newlines -----------------------------------------------------------------


def test_quotes_and_embedded_newlines(db: Path, tmp_path: Path) -> None:
    quoted = 'say "hi", then leave'
    rows = [
        row("Q1", document_no=quoted),
        row("Q2", document_no="first line\nsecond line"),
        row("Q3"),
        row("Q4", decided_on="2025-02-30"),
    ]
    path = tmp_path / "quoted.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert '"say ""hi"", then leave"' in text  # the writer really escaped the quotes
    # physical lines: header 1, Q1 2, Q2 3-4, Q3 5, Q4 6
    assert text.splitlines()[5].startswith("Q4,")
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (4, 3, 1)
    [reject] = read_rejects(summary["rejects"])
    assert (reject["event_id"], reject["line"]) == ("Q4", 6)
    stored = by_event(events_of(db, person()))
    assert stored["Q1"]["document_no"] == quoted
    assert stored["Q2"]["document_no"] == "first line\nsecond line"
    assert {k: v["line"] for k, v in stored.items()} == {"Q1": 2, "Q2": 3, "Q3": 5}


def test_embedded_newline_in_a_file_without_final_newline(db: Path, tmp_path: Path) -> None:
    rows = [row("N1", document_no="first line\nsecond line"), row("N2"), row("N3", decided_on="2025-02-30")]
    path = tmp_path / "no-final-newline.csv"
    path.write_text(csv_text(rows).rstrip("\n"), encoding="utf-8")
    # physical lines: header 1, N1 2-3, N2 4, N3 5
    assert path.read_text(encoding="utf-8").splitlines()[4].startswith("N3,")
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    [reject] = read_rejects(summary["rejects"])
    stored = by_event(events_of(db, person()))
    assert stored["N1"]["document_no"] == "first line\nsecond line"
    assert {k: v["line"] for k, v in stored.items()} == {"N1": 2, "N2": 4}
    assert (reject["event_id"], reject["line"]) == ("N3", 5)


# -- malformed rows -------------------------------------------------------------------------------


def test_malformed_rows_are_rejected_with_their_lines(db: Path, tmp_path: Path) -> None:
    subject = person()
    too_many = f"M8,traffic,{subject},王芳,traffic.violation,2025-01-02,D8,surplus"
    too_few = f"M9,traffic,{subject}"
    good = [f"M{i},traffic,{subject},王芳,traffic.violation,2025-01-02,D{i}" for i in range(1, 4)]
    lines = [",".join(MINIMAL), good[0], too_many, good[1], too_few, good[2]]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (5, 3, 2)
    assert summary["errors_by_code"] == {"malformed_row": 2}
    rejected = rejects_by_line(summary)
    assert set(rejected) == {3, 5}
    for line, text in ((3, too_many), (5, too_few)):
        assert codes_of(rejected[line]) == {"malformed_row"}
        assert rejected[line]["row"]["text"].rstrip("\r\n") == text  # the line as sent
    assert "8" in rejected[3]["errors"][0]["message"]  # found 8 columns, expected 7
    stored = by_event(events_of(db, subject))
    assert {k: v["line"] for k, v in stored.items()} == {"M1": 2, "M2": 4, "M3": 6}


# -- dates ----------------------------------------------------------------------------------------


def test_dates_must_be_real_and_not_in_the_future(db: Path, tmp_path: Path) -> None:
    soon = (date.today() + timedelta(days=3)).isoformat()
    rows = [
        row("D1", decided_on="2025-02-30"),
        row("D2", decided_on="2025-2-3"),
        row("D3", decided_on="20250203"),
        row("D4", decided_on="2025/02/03"),
        row("D5", decided_on=soon),
        row("D6", decided_on="2024-02-29"),  # a leap day
        row("D7", decided_on="2025-02-28"),
    ]
    path = write_csv(tmp_path / "dates.csv", rows)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    rejected = codes_by_event(read_rejects(summary["rejects"]))
    assert rejected == {
        "D1": {"invalid_date"},
        "D2": {"invalid_date"},
        "D3": {"invalid_date"},
        "D4": {"invalid_date"},
        "D5": {"future_date"},
    }
    for r in read_rejects(summary["rejects"]):
        assert r["row"]["decided_on"] in r["errors"][0]["message"]  # names the value sent
    stored = by_event(events_of(db, person()))
    assert {k: v["decided_on"] for k, v in stored.items()} == {"D6": "2024-02-29", "D7": "2025-02-28"}


# -- identity codes -------------------------------------------------------------------------------


def test_identity_codes_lower_case_x_and_spaces(db: Path, tmp_path: Path) -> None:
    code = person("110105", "19491231", 2)
    assert code == "11010519491231002X"
    interior = code[:6] + " " + code[6:]
    rows = [
        row("I1", subject_id=code.lower()),
        row("I2", subject_id=f"  {code}  "),
        row("I3", subject_id=f" {code.lower()}\t"),
        row("I4", subject_id=interior),
    ]
    path = write_csv(tmp_path / "ids.csv", rows)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["accepted"], summary["rejected"]) == (3, 1)
    [reject] = read_rejects(summary["rejects"])
    assert reject["event_id"] == "I4"
    [error] = reject["errors"]
    assert (error["field"], error["code"]) == ("subject_id", "invalid_subject_id")
    assert repr(interior) in error["message"]
    assert "length is 19, expected 18" in error["message"]  # why: the space is not dropped
    assert reject["row"]["subject_id"] == interior  # as sent
    stored = events_of(db, code)
    assert sorted(e["event_id"] for e in stored) == ["I1", "I2", "I3"]
    assert {e["subject_id"] for e in stored} == {code}
    assert {e["subject_kind"] for e in stored} == {"person"}


# -- formula-looking strings ----------------------------------------------------------------------


def test_formula_looking_strings_are_kept_verbatim(db: Path, tmp_path: Path) -> None:
    values = {
        "F1": ("=cmd()", "=cmd()"),
        "F2": ("+1", "-2"),
        "F3": ("@x", '=HYPERLINK("http://x","x")'),
        "F4": ("-2", "+1"),
    }
    subject = person(seq=7)
    rows = [row(k, subject_id=subject, subject_name=name, document_no=doc) for k, (name, doc) in values.items()]
    path = write_csv(tmp_path / "formulas.csv", rows)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["accepted"], summary["rejected"]) == (4, 0)
    stored = by_event(events_of(db, subject))
    assert {k: (e["subject_name"], e["document_no"]) for k, e in stored.items()} == values


# -- JSON Lines -----------------------------------------------------------------------------------


def jsonl_with_bad_lines(path: Path) -> dict[str, int]:
    """A JSON Lines file with bad and blank lines; event id -> line of the good ones."""
    court = {"source": "court", "type": "court.defaulter"}
    lines = [
        json.dumps(row("J1"), ensure_ascii=False),  # 1
        "",  # 2
        '{"event_id": "J-broken", "source": ',  # 3 invalid JSON
        json.dumps([row("J-array")]),  # 4 an array, not an object
        json.dumps(row("J3", colour="red"), ensure_ascii=False),  # 5 unknown top-level key
        "   ",  # 6
        json.dumps({**row("J4", **court), "attrs": {"ground": 2, "grond": 1}}, ensure_ascii=False),  # 7
        json.dumps({**row("J5", **court), "attrs": {"ground": 2}}, ensure_ascii=False),  # 8
        json.dumps(row("J6"), ensure_ascii=False),  # 9
        '"just a string"',  # 10
        json.dumps({**row("J7"), "attrs": 5}),  # 11 attrs not an object
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"J1": 1, "J5": 8, "J6": 9}


def test_jsonl_bad_lines_are_rejected_with_their_lines(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = jsonl_with_bad_lines(path)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert summary["rows"] == 9  # the non-blank lines
    assert summary["accepted"] == 3
    assert summary["rejected"] == 6
    rejected = rejects_by_line(summary)
    assert set(rejected) == {3, 4, 5, 7, 10, 11}
    for line in (3, 4, 10, 11):
        assert "invalid_json" in codes_of(rejected[line]), line
    assert rejected[3]["event_id"] is None
    assert rejected[11]["event_id"] == "J7"
    assert codes_of(rejected[5]) == {"unknown_field"}
    assert "colour" in rejected[5]["errors"][0]["message"]
    assert codes_of(rejected[7]) == {"unknown_field"}
    assert "attrs.grond" in rejected[7]["errors"][0]["message"]
    stored = by_event(events_of(db, person()))
    assert {k: v["line"] for k, v in stored.items()} == good
    assert stored["J5"]["attrs"]["ground"] == 2


def test_jsonl_invalid_line_text_is_kept_in_rejects(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    jsonl_with_bad_lines(path)
    summary = summary_of(ingest(db, path, rejects=tmp_path / "rej.jsonl"))
    rejected = rejects_by_line(summary)
    assert "J-broken" in json.dumps(rejected[3]["row"], ensure_ascii=False)
    assert "J-array" in json.dumps(rejected[4]["row"], ensure_ascii=False)


def test_jsonl_invalid_line_has_only_the_parse_error(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    jsonl_with_bad_lines(path)
    summary = summary_of(ingest(db, path, rejects=tmp_path / "rej.jsonl"))
    rejected = rejects_by_line(summary)
    for line in (3, 4, 10):
        assert codes_of(rejected[line]) == {"invalid_json"}, rejected[line]["errors"]


# -- every format ---------------------------------------------------------------------------------

EXEMPTION_ACTIONS = ["flight.*", "rail.g.*"]


def format_rows() -> list[dict[str, Any]]:
    """One row without attributes, one with an integer attribute, one with a list attribute."""
    return [
        row("X1"),
        row("X2", source="court", type="court.defaulter", ground=2),
        row("X3", source="court", type="court.consumption_exemption", actions=list(EXEMPTION_ACTIONS)),
    ]


def arrow_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with the columns of all rows (absent values null)."""
    names: list[str] = []
    for r in rows:
        names += [k for k in r if k not in names]
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows])


def write_format(tmp_path: Path, fmt: str) -> Path:
    rows = format_rows()
    if fmt in ("csv", "csv.gz"):
        flat_rows = [{**r, "actions": ";".join(r["actions"])} if "actions" in r else r for r in rows]
        path = write_csv(tmp_path / "agency.csv", flat_rows)
        if fmt == "csv.gz":
            gz = tmp_path / "agency.csv.gz"
            gz.write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()
            return gz
        return path
    if fmt in ("jsonl", "jsonl.gz"):
        nested = []
        for r in rows:
            attrs = {k: r.pop(k) for k in ("ground", "actions") if k in r}
            nested.append({**r, "attrs": attrs} if attrs else r)
        return write_jsonl(tmp_path / f"agency.{fmt}", nested, gz=fmt.endswith(".gz"))
    assert fmt == "parquet"
    path = tmp_path / "agency.parquet"
    pq.write_table(arrow_table(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "jsonl.gz", "parquet"])
def test_every_format_is_ingested(db: Path, tmp_path: Path, fmt: str) -> None:
    path = write_format(tmp_path, fmt)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (3, 3, 0)
    assert summary["files"][0]["format"] == fmt
    stored = by_event(events_of(db, person()))
    assert set(stored) == {"X1", "X2", "X3"}
    assert stored["X2"]["attrs"]["ground"] == 2
    assert stored["X3"]["attrs"]["actions"] == EXEMPTION_ACTIONS
    first_line = 2 if fmt.startswith("csv") else 1
    assert [stored[k]["line"] for k in ("X1", "X2", "X3")] == [first_line, first_line + 1, first_line + 2]


def test_parquet_bad_rows_report_the_row_number(db: Path, tmp_path: Path) -> None:
    court = {"source": "court", "type": "court.defaulter"}
    rows = [
        row("P1", ground=2, **court),
        row("P2", ground=9, **court),  # out of range
        row("P3", ground=None, actions=list(EXEMPTION_ACTIONS), source="court", type="court.consumption_exemption"),
        row("P4", decided_on="2025-02-30"),
        row("P5", ground=None, **court),  # ground is required
    ]
    table = arrow_table(rows)
    assert pa.types.is_integer(table.schema.field("ground").type)
    assert pa.types.is_list(table.schema.field("actions").type)
    path = tmp_path / "court.parquet"
    pq.write_table(table, path)
    res = ingest(db, path, rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    summary = summary_of(res)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (5, 2, 3)
    rejected = rejects_by_line(summary)
    assert {line: (r["event_id"], codes_of(r)) for line, r in rejected.items()} == {
        2: ("P2", {"out_of_range"}),
        4: ("P4", {"invalid_date"}),
        5: ("P5", {"required"}),
    }
    stored = by_event(events_of(db, person()))
    assert {k: v["line"] for k, v in stored.items()} == {"P1": 1, "P3": 3}


def test_file_that_is_not_parquet_is_refused(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file")
    file_failure(ingest(db, path), "malformed_file")


# -- several files --------------------------------------------------------------------------------


def test_one_failed_file_does_not_stop_the_others(db: Path, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "first.csv", [row("A1"), row("A2")])
    # A file-level problem found only after its rows were checked: a GBK row at the end.
    failing = tmp_path / "failing.csv"
    good = csv_text([row(f"F{i}") for i in range(50)]).encode("utf-8")
    failing.write_bytes(good + csv_text([row("F-GBK", subject_name="李娜")]).split("\n", 1)[1].encode("gbk"))
    last = write_jsonl(tmp_path / "last.jsonl", [row("C1"), row("C2", decided_on="2025-02-30")])
    res = ingest(db, first, failing, last, rejects=tmp_path / "rej.jsonl")
    assert res.code == 2, res.err
    summary = summary_of(res)
    statuses = [(Path(f["file"]).name, f["status"]) for f in summary["files"]]
    assert statuses == [("first.csv", "ok"), ("failing.csv", "failed"), ("last.jsonl", "ok")]
    assert summary["files"][1]["error"]["code"] == "not_utf8"
    assert summary["files"][1]["rows"] == 0
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (4, 3, 1)
    assert "failing.csv" in flat(res.err)
    assert "first.csv" not in flat(res.err)
    assert {f for f, _ in stored_rows(db)} == {"first.csv", "last.jsonl"}
    assert event_count(db) == 3
    assert codes_by_event(read_rejects(summary["rejects"])) == {"C2": {"invalid_date"}}
    assert set(by_event(events_of(db, person()))) == {"A1", "A2", "C1"}


def test_organisation_codes_with_lower_case_letters(db: Path, tmp_path: Path) -> None:
    code = org()
    assert any(c.isalpha() for c in code)
    rows = [row("O1", source="market", type="admin.penalty", subject_id=f" {code.lower()} ", severity="general")]
    res = ingest(db, write_csv(tmp_path / "market.csv", rows), rejects=tmp_path / "rej.jsonl")
    assert res.code == 0, res.err
    assert summary_of(res)["accepted"] == 1
    [stored] = events_of(db, code)
    assert (stored["subject_id"], stored["subject_kind"]) == (code, "organisation")

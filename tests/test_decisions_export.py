"""``socialcredit decisions export``: every logged check once, every screened row once with its
``<screen_id>:<row>`` id, in the order decided, filtered by time window and party, as CSV or
JSON Lines; bad arguments refused; a missing screening log file refused."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from socialcredit.decide import Decider
from socialcredit.sample import sample_files
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from conftest import Result, ingest, run_cli

ENV = {"SOCIALCREDIT_TODAY": "2026-11-26"}
RESTRICTED = "371082199003120244"  # legal representative of a listed company: no flights
ALLOWED = "371082199206070136"
UNTIL = "110105199001010352"  # a judgment defaulter listed until a fixed date
ORG = "91371082MA3C123459"
OTHER_PARTY = "Rongcheng Air ticketing"


@dataclass
class Log:
    """A database with logged decisions, what each command answered, and its whole export."""

    db: Path
    checks: list[dict[str, Any]]  # check --json outputs (with the party), in order
    screens: list[tuple[str, list[dict[str, Any]]]]  # (screen_id, rows of the result file) in order
    csv_rows: list[dict[str, Any]] = field(default_factory=list)  # exported to standard output
    csv_err: str = ""
    jsonl_rows: list[dict[str, Any]] = field(default_factory=list)  # exported to a *.jsonl file
    summary: dict[str, Any] = field(default_factory=dict)  # ... with --json
    jsonl_path: Path = Path()


def cli(*args: str | Path) -> Result:
    return run_cli(*args, env=ENV)


def check(db: Path, subject: str, action: str, *extra: str) -> dict[str, Any]:
    res = cli("check", subject, action, "--db", db, "--json", *extra)
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    return data


def screen(db: Path, tmp: Path, name: str, codes: list[str], *extra: str) -> tuple[str, list[dict[str, Any]]]:
    src = tmp / f"{name}.csv"
    src.write_text("subject_id\n" + "".join(f"{c}\n" for c in codes), encoding="utf-8")
    out = tmp / f"{name}-result.csv"
    res = cli("screen", src, "--action", "flight.economy", "--out", out, "--db", db, "--json", *extra)
    assert res.code == 0, res.err
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    screen_id = rows[0]["decision_id"].split(":")[0]
    return screen_id, rows


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    """Checks and screenings interleaved: two checks, a screening, a check by another party
    (in-process, as the HTTP service logs them), a check, a second screening, a last check;
    then the whole log exported as CSV to standard output and as JSON Lines to a file."""
    tmp = tmp_path_factory.mktemp("decisions")
    db = tmp / "sc.duckdb"
    assert cli("init", "--db", db).code == 0
    assert ingest(db, *sample_files(), rejects=tmp / "rejects.jsonl", env=ENV).code == 0
    checks = [check(db, RESTRICTED, "flight.economy"), check(db, ALLOWED, "flight.economy", "--purpose", "ticket sale")]
    screens = [screen(db, tmp, "travellers", [RESTRICTED, "not-a-code", ALLOWED, UNTIL, ORG.lower()])]
    with DuckDBStore(db, Settings(today=date(2026, 11, 26))) as store:
        answer = Decider(store, party=OTHER_PARTY).check(ORG, "procurement.bid", purpose="flight.*")
    checks.append(json.loads(json.dumps(answer, default=str)))
    checks.append(check(db, ORG, "rail.g.second", "--as-of", "2026-06-01"))
    screens.append(screen(db, tmp, "bidders", [ORG, ALLOWED], "--purpose", "bid screening"))
    checks.append(check(db, UNTIL, "rail.g.second", "--known-at", "2026-11-01T00:00:00Z"))
    log = Log(db, checks, screens)
    res = export(db)
    assert res.code == 0, res.err
    log.csv_rows, log.csv_err = read_csv(res.out), res.err
    log.jsonl_path = tmp / "log.jsonl"
    res = export(db, "--out", log.jsonl_path, "--json")
    assert res.code == 0, res.err
    log.summary = res.json()
    log.jsonl_rows = read_jsonl(log.jsonl_path.read_text(encoding="utf-8"))
    return log


def export(db: Path, *args: str | Path) -> Result:
    return cli("decisions", "export", "--db", db, *args)


def read_csv(text: str) -> list[dict[str, Any]]:
    """CSV lines with the JSON Lines types: booleans, nulls for empty cells, parsed lists."""
    rows: list[dict[str, Any]] = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {k: (v if v != "" else None) for k, v in raw.items()}
        for k in ("allowed", "known"):
            row[k] = {"true": True, "false": False}[raw[k]]
        for k in ("measures", "lists"):
            row[k] = json.loads(raw[k]) if raw[k] else None
        rows.append(row)
    return rows


def read_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def exported(db: Path, fmt: str, tmp: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp / f"export.{fmt}"
    res = export(db, "--out", out, *args)
    assert res.code == 0, res.err
    text = out.read_text(encoding="utf-8")
    return read_csv(text) if fmt == "csv" else read_jsonl(text)


def measures_of(answer: dict[str, Any]) -> list[str]:
    return [r["measure"] for r in answer["restrictions"]] + [i["measure"] for i in answer["incentives"]]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_check_and_every_screened_row_once_with_its_answer(log: Log, fmt: str) -> None:
    rows = log.csv_rows if fmt == "csv" else log.jsonl_rows
    assert list(rows[0]) == [
        "decision_id",
        "decided_at",
        "party",
        "purpose",
        "subject_id",
        "action",
        "allowed",
        "known",
        "as_of",
        "known_at",
        "catalog_version",
        "data_version",
        "screen_id",
        "measures",
        "lists",
        "until",
    ]
    ids = [r["decision_id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(log.checks) + sum(len(s[1]) for s in log.screens)
    by_id = {r["decision_id"]: r for r in rows}
    purposes = [None, "ticket sale", "flight.*", None, None]
    for answer, purpose in zip(log.checks, purposes, strict=True):
        row = by_id[answer["decision_id"]]
        assert row["party"] == answer["party"]
        assert row["purpose"] == purpose
        assert row["subject_id"] == answer["subject"]
        assert (row["action"], row["allowed"], row["known"]) == (answer["action"], answer["allowed"], answer["known"])
        assert row["as_of"] == answer["as_of"]
        assert row["catalog_version"] == answer["catalog_version"]
        assert row["data_version"] == answer["data_version"]
        assert row["measures"] == measures_of(answer)
        assert row["screen_id"] is None
        assert row["lists"] is None
        assert row["until"] is None
        known_at = row["known_at"]
        assert (moment(known_at) if known_at else None) == (moment(answer["known_at"]) if answer["known_at"] else None)
    assert log.checks[0]["allowed"] is False
    assert log.checks[-1]["known_at"] is not None
    assert {c["party"] for c in log.checks} == {"cli", OTHER_PARTY}
    for (screen_id, result), purpose in zip(log.screens, [None, "bid screening"], strict=True):
        assert screen_id not in by_id  # the summary row is not exported, its rows are
        mine = [r for r in rows if r["screen_id"] == screen_id]
        assert [r["decision_id"] for r in mine] == [f"{screen_id}:{k}" for k in range(1, len(result) + 1)]
        for row, res in zip(mine, result, strict=True):
            assert row["decision_id"] == res["decision_id"]
            assert row["subject_id"] == res["subject_id"]
            assert row["allowed"] is (res["allowed"] == "true")
            assert row["known"] is (res["known"] == "true")
            assert row["measures"] == [m for m in (res["restrictions"] + ";" + res["incentives"]).split(";") if m]
            assert row["lists"] == [x for x in res["lists"].split(";") if x]
            assert row["until"] == (res["until"] or None)
            assert (row["party"], row["purpose"], row["action"]) == ("cli", purpose, "flight.economy")
            assert row["as_of"] == "2026-11-26"
            assert row["known_at"] is None
            assert row["catalog_version"] == log.checks[0]["catalog_version"]
            assert row["data_version"] == log.checks[0]["data_version"]
    first = by_id[f"{log.screens[0][0]}:1"]
    assert (first["subject_id"], first["allowed"], first["measures"]) == (RESTRICTED, False, ["high_consumption"])
    invalid = by_id[f"{log.screens[0][0]}:2"]
    assert (invalid["subject_id"], invalid["allowed"], invalid["known"]) == ("not-a-code", True, False)
    assert by_id[f"{log.screens[0][0]}:4"]["until"] is not None
    # in the order decided: checks and screenings as they were made, a screening's rows in row order
    times = [moment(r["decided_at"]) for r in rows]
    assert times == sorted(times)
    assert all(r["decided_at"].endswith("Z") for r in rows)
    kinds = [r["screen_id"] or r["decision_id"] for r in rows]
    checks = [c["decision_id"] for c in log.checks]
    screenings = [screen_id for screen_id, _ in log.screens]
    expected = [*checks[:2], screenings[0], *checks[2:4], screenings[1], checks[4]]
    assert [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k] == expected


def test_csv_and_json_lines_hold_the_same_rows(log: Log) -> None:
    assert log.csv_rows == log.jsonl_rows
    assert "exported 12 decisions (5 checks, 7 screened rows of 2 screenings) as csv to standard output" in " ".join(
        log.csv_err.split()
    )


def test_since_and_until_select_decisions_by_the_time_they_were_made(log: Log, tmp_path: Path) -> None:
    rows = log.jsonl_rows
    times = sorted({moment(r["decided_at"]) for r in rows})
    assert len(times) == 7  # five checks and two screenings, each at its own time

    def window(*args: str) -> list[str]:
        return [r["decision_id"] for r in exported(log.db, "jsonl", tmp_path, *args)]

    def made(since: datetime | None, until: datetime | None) -> list[str]:
        return [
            r["decision_id"]
            for r in rows
            if (since is None or moment(r["decided_at"]) >= since)
            and (until is None or moment(r["decided_at"]) < until)
        ]

    since, until = times[1] + (times[2] - times[1]) / 2, times[4] + (times[5] - times[4]) / 2
    assert window("--since", since.isoformat(), "--until", until.isoformat()) == made(since, until) != []
    # a naive time is UTC, a time with a zone is converted; the window is [since, until)
    naive = times[2].astimezone(UTC).replace(tzinfo=None).isoformat()
    east = times[5].astimezone(timezone(timedelta(hours=8))).isoformat()
    assert window("--since", naive, "--until", east) == made(times[2], times[5]) == made(since, until)
    # a date is midnight UTC
    day = times[0].date()
    assert window("--since", str(day)) == made(None, None)
    assert window("--until", str(day)) == []


def test_party_selects_the_decisions_it_asked_for(log: Log, tmp_path: Path) -> None:
    everything = log.csv_rows
    theirs = exported(log.db, "csv", tmp_path, "--party", OTHER_PARTY)
    assert [r["decision_id"] for r in theirs] == [log.checks[2]["decision_id"]]
    ours = exported(log.db, "csv", tmp_path, "--party", "cli")
    assert ours == [r for r in everything if r["party"] == "cli"]
    assert len(ours) == len(everything) - 1
    out = tmp_path / "nobody.csv"
    res = export(log.db, "--party", "nobody", "--out", out, "--json")
    assert res.code == 0, res.err
    assert (res.json()["decisions"], res.json()["party"]) == (0, "nobody")
    assert out.read_text(encoding="utf-8").splitlines() == [",".join(f'"{c}"' for c in everything[0])]


def test_json_summary_counts_add_up(log: Log, tmp_path: Path) -> None:
    summary = log.summary
    screened = sum(len(rows) for _, rows in log.screens)
    assert summary["checks"] == len(log.checks)
    assert summary["screened_rows"] == screened
    assert summary["screenings"] == len(log.screens)
    assert summary["decisions"] == summary["checks"] + summary["screened_rows"] == len(log.jsonl_rows)
    assert (summary["out"], summary["format"]) == (str(log.jsonl_path), "jsonl")
    assert (summary["since"], summary["until"], summary["party"]) == (None, None, None)
    out = tmp_path / "one.jsonl"
    one = export(log.db, "--out", out, "--json", "--since", "2026-01-01", "--party", OTHER_PARTY).json()
    assert (one["decisions"], one["checks"], one["screened_rows"], one["screenings"]) == (1, 1, 0, 0)
    assert one["since"] == "2026-01-01T00:00:00.000000Z"


def test_standard_output_and_the_format_choice(log: Log, tmp_path: Path) -> None:
    lines = export(log.db, "--format", "jsonl")
    assert lines.code == 0, lines.err
    assert read_jsonl(lines.out) == log.csv_rows
    # the file name chooses the format (*.jsonl: JSON Lines, anything else CSV) unless --format does
    human = export(log.db, "--out", tmp_path / "a.txt")
    assert human.code == 0, human.err
    assert "exported 12 decisions" in human.out
    assert "a.txt" in human.out
    assert read_csv((tmp_path / "a.txt").read_text(encoding="utf-8")) == log.csv_rows
    chosen = export(log.db, "--out", tmp_path / "b.csv", "--format", "jsonl", "--json")
    assert chosen.json()["format"] == "jsonl"
    assert read_jsonl((tmp_path / "b.csv").read_text(encoding="utf-8")) == log.csv_rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["--until", "2026-13-01"], "--until '2026-13-01' is not a date"),
        (["--since", "2026-11-26T10:00:00+08:00", "--until", "2026-11-26T02:00:00"], "is not before --until"),
        (["--format", "parquet"], "--format 'parquet': choose csv or jsonl"),
        (["--json"], "give --out"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(log: Log, tmp_path: Path, args: list[str], message: str) -> None:
    res = export(log.db, *args) if args == ["--json"] else export(log.db, "--out", tmp_path / "x.csv", *args)
    assert res.code == 2
    assert message in " ".join(res.err.split())
    assert res.out == ""
    assert not (tmp_path / "x.csv").exists()


def test_a_missing_screening_log_file_fails_and_exports_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sc.duckdb"
    assert cli("init", "--db", db).code == 0
    gone, _ = screen(db, tmp_path, "one", [ALLOWED, "x"])
    kept, _ = screen(db, tmp_path, "two", [ALLOWED])
    (tmp_path / "sc.duckdb.screenings" / f"{gone}.arrow").unlink()
    out = tmp_path / "export.csv"
    res = export(db, "--out", out)
    assert res.code == 1
    message = " ".join(res.err.split())
    assert "the decision log is incomplete" in message
    assert f"screening {gone}" in message
    assert f"{gone}.arrow is missing" in message
    assert kept not in message
    assert "nothing was exported" in message
    assert not list(tmp_path.glob("export.csv*"))
    # a window without that screening still exports
    ok = export(db, "--party", "nobody", "--out", out)
    assert ok.code == 0, ok.err


def test_batch_boundaries_do_not_change_the_export(tmp_path: Path) -> None:
    """In-process, with batches of a few rows: screenings split across batches, a screening
    logged at the same time as a check, and text that needs escaping give the same lines."""
    import pyarrow as pa

    from socialcredit.catalog import load_default
    from socialcredit.decide.export import SCHEMA, Window, export_batches, plan_export, write_export
    from socialcredit.decide.screenlog import log_screening

    base = datetime(2026, 11, 26, 9, tzinfo=UTC)
    with DuckDBStore(tmp_path / "b.duckdb", Settings()) as store:
        store.migrate()
        version = store.store_catalog(load_default())
        for k in range(5):
            store.con.execute(
                "INSERT INTO decisions VALUES (?, ?, 'cli', NULL, ?, 'flight.economy', TRUE, TRUE, DATE '2026-11-26', "
                "NULL, ?, '1@2026-11-26', '[]', NULL)",
                [f"dec-{k}", base + timedelta(seconds=k), ALLOWED, version],
            )
        screenings = []
        for at, n in ((1, 5), (3, 3)):
            screen_id = f"scr-{at}"
            rows = pa.table(
                {
                    "row": pa.array(range(1, n + 1), pa.int64()),
                    "subject_id": [f'odd "code" \\ {k}\n' for k in range(1, n + 1)],
                    "valid": [False] * n,
                    "code": pa.nulls(n, pa.string()),
                    "known": [k % 2 == 0 for k in range(1, n + 1)],
                    "allowed": [k != 2 for k in range(1, n + 1)],
                    "restrictions": ["high_consumption;procurement_ban" if k == 2 else None for k in range(1, n + 1)],
                    "lists": ["judgment_defaulters" if k == 2 else None for k in range(1, n + 1)],
                    "until": pa.array([date(2029, 3, 4) if k == 2 else None for k in range(1, n + 1)], pa.date32()),
                    "incentives": ["green_channel" if k in (2, 3) else None for k in range(1, n + 1)],
                    "decision_id": [f"{screen_id}:{k}" for k in range(1, n + 1)],
                }
            )
            log_screening(
                store,
                screen_id,
                action="flight.economy",
                party="cli",
                purpose="p",
                as_of=date(2026, 11, 26),
                catalog_version=version,
                data_version="1@2026-11-26",
                source="index",
                rows=rows,
            )
            store.con.execute(
                "UPDATE decisions SET decided_at = ? WHERE screen_id = ?", [base + timedelta(seconds=at), screen_id]
            )
            screenings.append((screen_id, n))
        plan = plan_export(store, Window())
        assert (plan.checks, plan.screened_rows, len(plan.screenings)) == (5, 8, 2)
        whole = pa.Table.from_batches(list(export_batches(store, plan)), schema=SCHEMA)
        expected = ["dec-0", "dec-1", *[f"scr-1:{k}" for k in range(1, 6)], "dec-2", "dec-3"]
        expected += [*[f"scr-3:{k}" for k in range(1, 4)], "dec-4"]
        assert whole.column("decision_id").to_pylist() == expected
        for size in (1, 2, 3, 4):
            batches = list(export_batches(store, plan, size))
            assert pa.Table.from_batches(batches, schema=SCHEMA).equals(whole)
        small, large = io.BytesIO(), io.BytesIO()
        write_export(store, plan, small, "jsonl", batch_rows=2)
        summary = write_export(store, plan, large, "jsonl")
        assert small.getvalue() == large.getvalue()
        assert summary.decisions == 13
        lines = read_jsonl(large.getvalue().decode())
        row2 = lines[3]
        assert row2["decision_id"] == "scr-1:2"
        assert row2["subject_id"] == 'odd "code" \\ 2\n'
        assert row2["measures"] == ["high_consumption", "procurement_ban", "green_channel"]
        assert row2["lists"] == ["judgment_defaulters"]
        assert (row2["allowed"], row2["known"], row2["until"], row2["purpose"]) == (False, True, "2029-03-04", "p")
        assert lines[4]["measures"] == ["green_channel"]
        assert lines[4]["lists"] == []
        text = io.BytesIO()
        write_export(store, plan, text, "csv", batch_rows=3)
        assert read_csv(text.getvalue().decode()) == lines

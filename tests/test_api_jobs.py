"""Screening jobs, public lists, metrics and record-file submissions of the HTTP service, over a
real socket against a real server process."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from socialcredit.api.models import CheckAnswer, PublicList, ScreeningJob, SubjectFile
from socialcredit.sample import sample_subject

from conftest import person, run_cli
from server import ENV, OTHER_SUBJECT, PARTY, TODAY, Server, assert_envelope, create_key, sample_db, serving

SUBJECT = sample_subject()
ORG = "91371082MA3C123459"
INVALID = "371082199003120245"
UNKNOWN = person("110105", "19700101", 7)
CODES = [SUBJECT, OTHER_SUBJECT, INVALID, ORG, UNKNOWN]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server over the sample, a second relying party's key, and the CLI's screening of the
    same codes taken before the server started."""
    folder = tmp_path_factory.mktemp("jobs")
    db, keys = sample_db(folder)
    keys["relying_party_2"] = create_key(db, "--role", "relying_party", "--purpose", "flight.*", "--name", "other")[
        "key"
    ]
    codes = folder / "codes.csv"
    codes.write_text("subject_id\n" + "\n".join(CODES) + "\n", encoding="utf-8")
    res = run_cli("screen", codes, "--action", "flight.economy", "--out", folder / "cli.csv", "--db", db, env=ENV)
    assert res.code == 0, res.err
    for running in serving(db, keys, folder / "server.log"):
        yield running, folder


@pytest.fixture
def server(setup: tuple[Server, Path]) -> Server:
    return setup[0]


def _upload(codes: list[str], name: str = "passengers.csv") -> dict[str, tuple[str, bytes]]:
    return {"file": (name, ("subject_id\n" + "\n".join(codes) + "\n").encode())}


def _finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(1200):  # waiting for the job, not a timed assertion
        job: dict[str, Any] = client.get(f"/screenings/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- screening jobs --------------------------------------------------------------------------------


def test_a_screening_job_answers_every_row_as_the_cli_screen(setup: tuple[Server, Path]) -> None:
    server, folder = setup
    with server.client("relying_party") as client:
        queued = client.post("/screenings", files=_upload(CODES), data={"action": "flight.economy"})
        assert queued.status_code == 202, queued.text
        ScreeningJob.model_validate(queued.json())
        assert queued.json()["rows"] == len(CODES)
        job = _finished(client, queued.json()["job_id"])
        assert job["status"] == "done", job
        assert (job["allowed"], job["restricted"], job["invalid"]) == (1, 3, 1)
        assert job["party"] == PARTY
        assert job["purpose"] == "flight.*"
        assert job["progress"] == 1.0
        result = client.get(job["result"].removeprefix("/api/v1"))
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/csv")
    api = _rows(result.text)
    cli = _rows((folder / "cli.csv").read_text(encoding="utf-8"))
    assert [r["subject_id"] for r in api] == CODES
    ignore = {"decision_id"}
    assert [{k: v for k, v in r.items() if k not in ignore} for r in api] == [
        {k: v for k, v in r.items() if k not in ignore} for r in cli
    ]
    assert [r["decision_id"] for r in api] == [f"{job['screen_id']}:{i}" for i in range(1, len(CODES) + 1)]
    allowed = {r["subject_id"]: r["allowed"] for r in api}
    assert allowed[SUBJECT] == "false"
    assert allowed[UNKNOWN] == "true"
    assert api[2]["valid"] == "false"


def test_the_result_comes_as_parquet_too(server: Server, tmp_path: Path) -> None:
    with server.client("relying_party") as client:
        job = _finished(
            client,
            client.post("/screenings", files=_upload(CODES), data={"action": "flight.business"}).json()["job_id"],
        )
        response = client.get(f"/screenings/{job['job_id']}/result", params={"format": "parquet"})
    assert response.status_code == 200
    (tmp_path / "r.parquet").write_bytes(response.content)
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column("subject_id").to_pylist() == CODES
    assert table.column("decision_id").to_pylist()[0] == f"{job['screen_id']}:1"


def test_screened_rows_are_logged_and_shown_to_the_subject(server: Server) -> None:
    with server.client("relying_party") as client:
        job = _finished(
            client,
            client.post("/screenings", files=_upload([SUBJECT]), data={"action": "flight.first"}).json()["job_id"],
        )
    with server.client("subject") as client:
        mine = client.get(f"/subjects/{SUBJECT}").json()
    SubjectFile.model_validate(mine)
    screened = [x for x in mine["lookups"] if x["screen_id"] == job["screen_id"]]
    assert screened == [
        {
            "decision_id": f"{job['screen_id']}:1",
            "decided_at": screened[0]["decided_at"],
            "party": PARTY,
            "purpose": "flight.*",
            "action": "flight.first",
            "allowed": False,
            "as_of": ENV["SOCIALCREDIT_TODAY"],
            "screen_id": job["screen_id"],
        }
    ]


def test_a_relying_party_screens_only_for_its_purposes(server: Server) -> None:
    with server.client("relying_party") as client:
        error = assert_envelope(
            client.post("/screenings", files=_upload(CODES), data={"action": "rail.g.second"}),
            403,
            "purpose_not_allowed",
        )
        assert error["details"]["purposes"] == ["flight.*"]
        assert_envelope(
            client.post("/screenings", files=_upload(CODES), data={"action": "flight.econmy"}), 422, "unknown_action"
        )


def test_a_job_is_seen_only_by_its_key_and_operators(server: Server) -> None:
    with server.client("relying_party") as client:
        job_id = client.post("/screenings", files=_upload(CODES), data={"action": "flight.economy"}).json()["job_id"]
        _finished(client, job_id)
    with server.client("relying_party_2") as other:
        assert_envelope(other.get(f"/screenings/{job_id}"), 404, "not_found")
        assert_envelope(other.get(f"/screenings/{job_id}/result"), 404, "not_found")
    with server.client("operator") as operator:
        assert operator.get(f"/screenings/{job_id}").json()["job_id"] == job_id
        assert len(_rows(operator.get(f"/screenings/{job_id}/result").text)) == len(CODES)
        assert_envelope(operator.get("/screenings/job-000000000000"), 404, "not_found")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("codes.txt.xlsx", b"x", "name the file"),
        ("codes.csv", b"", "Empty CSV file"),
        ("codes.csv", b"subject_id\n", "no codes"),
        ("codes.csv", b"a,b\n1\n", "cannot be read"),
        ("codes.parquet", b"not parquet", "cannot be read"),
    ],
)
def test_an_unreadable_upload_is_refused_with_the_reason(
    server: Server, name: str, content: bytes, needle: str
) -> None:
    with server.client("relying_party") as client:
        response = client.post("/screenings", files={"file": (name, content)}, data={"action": "flight.economy"})
    error = assert_envelope(response, 422, "invalid_file")
    assert needle in error["message"], error


def test_a_column_can_be_named(server: Server) -> None:
    body = f"name,passport_or_id\nA,{SUBJECT}\nB,{UNKNOWN}\n".encode()
    with server.client("relying_party") as client:
        response = client.post(
            "/screenings",
            files={"file": ("p.csv", body)},
            data={"action": "flight.economy", "column": "passport_or_id"},
        )
        job = _finished(client, response.json()["job_id"])
        assert (job["rows"], job["restricted"], job["allowed"]) == (2, 1, 1)
        missing = client.post(
            "/screenings", files={"file": ("p.csv", body)}, data={"action": "flight.economy", "column": "id"}
        )
    assert "no column 'id'" in assert_envelope(missing, 422, "invalid_file")["message"]


def test_jobs_cut_short_by_a_stop_are_reported_failed_after_a_restart(tmp_path: Path) -> None:
    db, keys = sample_db(tmp_path)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO screening_jobs (job_id, key_id, party, action, file, rows, status, stage, created_at) "
        "VALUES ('job-cut', NULL, 'ops desk', 'flight.economy', 'big.csv', 9, 'running', 'explaining', now())"
    )
    con.close()
    for running in serving(db, keys, tmp_path / "server.log"):
        with running.client("operator") as client:
            job = client.get("/screenings/job-cut").json()
            assert job["status"] == "failed"
            assert "stopped before the job finished" in job["error"]
            assert_envelope(client.get("/screenings/job-cut/result"), 409, "screening_failed")


# -- public lists ----------------------------------------------------------------------------------


def test_a_public_list_is_masked_and_matches_the_derived_lists(server: Server) -> None:
    body = httpx.get(server.url + "/api/v1/lists/judgment_defaulters").json()
    PublicList.model_validate(body)
    subjects = {e["subject"]: e for e in body["entries"]}
    assert body["total"] == len(body["entries"]) >= 2
    assert "110105********0352" in subjects
    assert OTHER_SUBJECT not in str(body)
    assert ORG in subjects
    assert subjects[ORG]["name"] == "荣成海洋食品有限公司"
    record = subjects["110105********0352"]["records"][0]
    assert record["type"] == "court.defaulter"
    assert record["document_no"]
    assert "record_id" not in record


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("张", ["110105********0352"]),
        (OTHER_SUBJECT, ["110105********0352"]),
        (f"{OTHER_SUBJECT[:6]} {OTHER_SUBJECT[6:]}", ["110105********0352"]),
        ("110105", []),
        (OTHER_SUBJECT[:14], []),
        ("91371082", [ORG]),
        (ORG.lower(), [ORG]),
        ("海洋食品", [ORG]),
        ("%", []),
        ("nobody", []),
    ],
)
def test_a_public_list_is_searchable_without_unmasking_persons(server: Server, q: str, found: list[str]) -> None:
    body = httpx.get(server.url + "/api/v1/lists/judgment_defaulters", params={"q": q}).json()
    assert [e["subject"] for e in body["entries"]] == found, body
    assert body["q"] == q


def test_a_public_list_pages(server: Server) -> None:
    url = server.url + "/api/v1/lists/judgment_defaulters"
    whole = httpx.get(url).json()
    pages = [httpx.get(url, params={"page": p, "page_size": 1}).json() for p in range(1, whole["total"] + 2)]
    assert [p["entries"][0] for p in pages[:-1]] == whole["entries"]
    assert pages[-1]["entries"] == []
    assert pages[0]["pages"] == whole["total"]
    error = assert_envelope(httpx.get(url, params={"page_size": 501}), 422, "invalid_request")
    assert "SOCIALCREDIT_MAX_PAGE_SIZE" in error["message"]


def test_only_published_lists_are_public(server: Server) -> None:
    error = assert_envelope(httpx.get(server.url + "/api/v1/lists/judgment_defaulter"), 404, "not_found")
    assert "judgment_defaulters" in error["details"]["nearest"]
    assert "grade_aaa" not in error["details"]["published"]
    assert_envelope(httpx.get(server.url + "/api/v1/lists/grade_aaa"), 404, "not_found")


# -- metrics ----------------------------------------------------------------------------------------


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_and_decisions_without_identity_codes(server: Server) -> None:
    before = httpx.get(server.url + "/api/v1/metrics").text
    with server.client("relying_party") as client:
        for _ in range(3):
            assert client.get(f"/check/{SUBJECT}/flight.economy").status_code == 200
    after = httpx.get(server.url + "/api/v1/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    restricted = 'socialcredit_decisions_total{answer="restricted"}'
    assert _sample(after.text, restricted) - _sample(before, restricted) == 3
    route = 'socialcredit_http_requests_total{method="GET",route="/check/{subject_id}/{action}",status="200"}'
    assert _sample(after.text, route) - _sample(before, route) == 3
    assert _sample(after.text, "socialcredit_stale") == 0
    assert _sample(after.text, "socialcredit_published_seq") > 0
    assert SUBJECT not in after.text
    assert OTHER_SUBJECT not in after.text


def test_the_fast_path_answers_and_logs_as_the_application(server: Server) -> None:
    """A plain GET check is answered in front of the application once the index is built; the
    same question with a query parameter goes through the application: same answer, both
    logged, both counted under the endpoint; errors always come from the application."""
    fast = "socialcredit_fast_path_checks_total"
    with server.client("relying_party") as client:
        assert client.get(f"/check/{SUBJECT}/flight.economy").status_code == 200  # builds the index
        before = httpx.get(server.url + "/api/v1/metrics").text
        quick = client.get(f"/check/{SUBJECT}/flight.economy").json()
        between = httpx.get(server.url + "/api/v1/metrics").text
        full = client.get(f"/check/{SUBJECT}/flight.economy", params={"as_of": TODAY}).json()
        after = httpx.get(server.url + "/api/v1/metrics").text
        assert_envelope(client.get("/check/371082199003120245/flight.economy"), 422, "invalid_subject_id")
        assert_envelope(client.get(f"/check/{SUBJECT}/rail.g.second"), 403, "purpose_not_allowed")
        last = httpx.get(server.url + "/api/v1/metrics").text
    assert _sample(between, fast) - _sample(before, fast) == 1
    assert _sample(after, fast) == _sample(between, fast)  # a query parameter: the application
    assert _sample(last, fast) == _sample(after, fast)  # errors: the application
    assert quick["allowed"] is False
    assert quick["restrictions"]
    assert quick["decision_id"] != full["decision_id"]
    assert {k: v for k, v in quick.items() if k != "decision_id"} == {
        k: v for k, v in full.items() if k != "decision_id"
    }
    CheckAnswer.model_validate(quick)
    route = 'socialcredit_http_requests_total{method="GET",route="/check/{subject_id}/{action}",status="200"}'
    assert _sample(after, route) - _sample(before, route) == 2
    commits = "socialcredit_decision_log_commits_total"
    assert _sample(after, commits) > _sample(before, commits)
    with server.client("operator") as client:
        lookups = client.get(f"/subjects/{SUBJECT}").json()["lookups"]
    logged = {entry["decision_id"]: entry for entry in lookups}
    for answer in (quick, full):
        entry = logged[answer["decision_id"]]
        assert (entry["party"], entry["purpose"], entry["action"], entry["allowed"]) == (
            PARTY,
            "flight.*",
            "flight.economy",
            False,
        )


# -- record files -----------------------------------------------------------------------------------


def test_an_agency_uploads_a_record_file(server: Server) -> None:
    header = "event_id,source,subject_id,subject_name,type,decided_on,document_no,ground,case_no\n"
    rows = [
        f"F-1,court,{UNKNOWN},李娜,court.defaulter,2026-03-04,(2026)京0105执901号之一,4,(2026)京0105执901号",
        f"F-2,railway,{UNKNOWN},李娜,court.defaulter,2026-03-04,(2026)京0105执902号之一,4,(2026)京0105执902号",
        f"F-3,court,{INVALID},李娜,court.defaulter,2026-03-04,(2026)京0105执903号之一,4,(2026)京0105执903号",
    ]
    body = (header + "\n".join(rows) + "\n").encode()
    with server.client("agency") as client:
        summary = client.post("/records", files={"file": ("court-2026-03.csv", body)}).json()
        again = client.post("/records", files={"file": ("court-2026-03.csv", body)}).json()
    assert (summary["rows"], summary["accepted"], summary["duplicates"], summary["rejected"]) == (3, 1, 0, 2)
    reasons = {r["event_id"]: {e["code"] for e in r["errors"]} for r in summary["rejects"]}
    assert "source_not_allowed" in reasons["F-2"]
    assert reasons["F-3"] == {"invalid_subject_id"}
    assert {r["line"] for r in summary["rejects"]} == {3, 4}
    assert all(r["index"] is None for r in summary["rejects"])
    assert summary["files"][0]["file"].endswith("court-2026-03.csv")
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 1, 2)
    with server.client("operator") as client:
        check = client.get(f"/check/{UNKNOWN}/flight.economy").json()
    assert check["allowed"] is False
    assert check["restrictions"][0]["records"][0]["document_no"] == "(2026)京0105执901号之一"


def test_a_record_file_that_cannot_be_read_is_refused_whole(server: Server) -> None:
    with server.client("agency") as client:
        error = assert_envelope(
            client.post("/records", files={"file": ("x.csv", b"event_id,source\nX-1,court\n")}),
            422,
            "submission_failed",
        )
        assert "subject_id" in error["message"]
        assert_envelope(client.post("/records", files={"other": ("x.csv", b"a")}), 422, "invalid_request")
        assert_envelope(
            client.post("/records", content=b"x", headers={"content-type": "text/plain"}), 415, "unsupported_media_type"
        )
        assert_envelope(
            client.post("/records", content=b"[", headers={"content-type": "application/json"}), 422, "invalid_request"
        )
        assert_envelope(client.post("/records", json=[]), 422, "invalid_request")


# -- concurrency ------------------------------------------------------------------------------------


def test_submissions_while_checks_are_served_lose_nothing(server: Server) -> None:
    batches, per_batch, checkers, checks_each = 6, 5, 3, 20
    failures: list[str] = []
    decisions: list[str] = []

    def submit(b: int) -> None:
        rows = [
            {
                "event_id": f"CONC-{b}-{i}",
                "subject_id": person("371082", "19900101", 100 + b * per_batch + i),
                "subject_name": "王强",
                "type": "court.defaulter",
                "decided_on": "2026-05-04",
                "document_no": f"(2026)鲁1082执{b}{i}号之一",
                "attrs": {"ground": 4, "case_no": f"(2026)鲁1082执{b}{i}号"},
            }
            for i in range(per_batch)
        ]
        with server.client("agency") as client:
            summary = client.post("/records", json=rows)
        if summary.status_code != 200 or summary.json()["accepted"] != per_batch:
            failures.append(summary.text)

    def check() -> None:
        with server.client("relying_party") as client:
            for _ in range(checks_each):
                response = client.get(f"/check/{SUBJECT}/flight.economy")
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    decisions.append(response.json()["decision_id"])

    threads = [threading.Thread(target=submit, args=(b,)) for b in range(batches)]
    threads += [threading.Thread(target=check) for _ in range(checkers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(set(decisions)) == checkers * checks_each
    with server.client("operator") as client:
        for b in range(batches):
            for i in range(per_batch):
                code = person("371082", "19900101", 100 + b * per_batch + i)
                assert client.get(f"/check/{code}/flight.economy").json()["allowed"] is False
    with server.client("subject") as client:
        logged = {x["decision_id"] for x in client.get(f"/subjects/{SUBJECT}").json()["lookups"]}
    assert set(decisions) <= logged

"""Benchmark: the HTTP service under load, against a raw ASGI hello world served the same way in
the same run.

    python bench/http.py [--persons 50000] [--connections 64] [--seconds 10] [--warmup 2] [--rounds 1]
                         [--codes 2000] [--batch 10000] [--posts 5] [--dir DIR] [--keep] [--json]

1. Builds a database in a temporary folder with the real CLI (simulate, init, ingest, derive),
   creates a relying_party key (purpose ``flight.*``) and picks the identity codes to check:
   subjects restricted from ``flight.economy``, allowed subjects, and valid codes the platform
   has nothing on.
2. Serves it with ``socialcredit serve`` (one worker, as users run it), and serves
   bench/asgi_hello.py, a raw ASGI app answering a small JSON body, with uvicorn's same settings
   (one worker, log level info, one access log line per request; both logs go to files).
3. Loads each server from bench/httpload.py, a separate process: ``--connections`` keep-alive
   HTTP/1.1 connections, one request in flight on each, a warm-up, then ``--seconds`` measured:
   requests/s, p50 and p99 latency, every response checked to be 200. The check endpoint is
   ``GET /api/v1/check/{code}/flight.economy``, rotating over the codes. Goal: at least 40% of
   the hello world's requests/s, with the decision log on.
4. Times ``POST /api/v1/check`` with ``--batch`` items (the same mix, the four flight actions),
   ``--posts`` requests one after another after one warm-up: median and min. Goal: < 200 ms.
   Then, the server stopped, the same items in-process: ``Decider.answer_many`` (the answers),
   ``Platform.check`` (answers + decision log, what the endpoint calls) and ``json.dumps`` of
   the answers, to tell the HTTP, validation and JSON work from the decisions.
5. Counts the rows the run added to the decision log: one per answered check.

``SOCIALCREDIT_TODAY`` is pinned to the day the run starts, so that the service answers from
the stored derive even if the run crosses midnight. Every process it starts is stopped at the
end, on errors and on Ctrl-C too.
"""

# ruff: noqa: E402 (the path is set before the imports)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This file has the name of the standard library's http package, which uvicorn and others
# import: keep bench/ (Python puts a script's folder first on the path) behind the library.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE] + [str(HERE)]

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np

from socialcredit.api.platform import Platform
from socialcredit.catalog.actions import matches
from socialcredit.decide import Decider, DecisionError
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

from httpload import Client, build_request
from records import persons

ACTION = "flight.economy"
PURPOSE = "flight.*"
PARTY = "bench relying party"
HOST = "127.0.0.1"
GOAL_RATIO = 0.40
GOAL_BATCH_MS = 200.0


_JSON = [False]  # whether stdout carries --json


def say(*parts: Any) -> None:
    """Progress and results: on stdout, or on stderr when stdout carries --json."""
    print(*parts, file=sys.stderr if _JSON[0] else sys.stdout, flush=True)


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Processes:
    """Every long-running process the benchmark started, stopped at the end whatever happens."""

    running: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start(self, cmd: list[str], log: Path) -> subprocess.Popen[Any]:
        """A server, its output to ``log``, in its own session (Ctrl-C reaches only this script)."""
        with log.open("wb") as fh:
            proc: subprocess.Popen[Any] = subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running.append(proc)
        return proc

    def load(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run the load generator in its own process; its summary."""
        cmd = [sys.executable, "-P", str(HERE / "httpload.py")]
        proc: subprocess.Popen[Any] = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        self.running.append(proc)
        out, _ = proc.communicate(json.dumps(spec))
        self.running.remove(proc)
        if proc.returncode != 0:
            raise SystemExit(f"the load generator failed with exit code {proc.returncode}")
        result: dict[str, Any] = json.loads(out)
        return result

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM (a graceful stop), SIGKILL after 60 s."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)


@contextmanager
def processes() -> Iterator[Processes]:
    """Processes stopped on leaving, also on SIGTERM of this script."""
    procs = Processes()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield procs
    finally:
        procs.stop_all()
        signal.signal(signal.SIGTERM, previous)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for(name: str, proc: subprocess.Popen[Any], log: Path, port: int, path: str) -> bytes:
    """The body of the first 200 answer to GET ``path``: the server is up."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            client = Client(HOST, port, timeout=10)
            try:
                status, body = client.request("GET", path)
            finally:
                client.close()
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not answer on port {port}:\n{log.read_text()[-3000:]}")


# -- the database ----------------------------------------------------------------------------------


def cli(*args: str | Path) -> str:
    """Run the real ``socialcredit`` command; its standard output."""
    exe = Path(sys.executable).with_name("socialcredit")
    res = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"socialcredit {' '.join(map(str, args))} failed:\n{res.stderr[-3000:]}")
    return res.stdout


def build_database(work: Path, n_persons: int) -> tuple[Path, dict[str, Any]]:
    """The database (reused when ``work`` already has one for as many persons) and what it holds."""
    db = work / f"http-{n_persons}.duckdb"
    steps: dict[str, float] = {}
    if not db.exists():
        files = work / "files"
        shutil.rmtree(files, ignore_errors=True)
        t0 = time.perf_counter()
        manifest = json.loads(cli("simulate", "--out", files, "--persons", str(n_persons), "--json"))
        steps["simulate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cli("init", "--db", db)
        steps["init"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cli("ingest", "--db", db, "--json", *(files / f["file"] for f in manifest["files"]))
        steps["ingest"] = time.perf_counter() - t0
        shutil.rmtree(files, ignore_errors=True)
    t0 = time.perf_counter()
    derived = json.loads(cli("derive", "--db", db, "--json"))
    steps["derive"] = time.perf_counter() - t0
    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM subjects)"
        events, subjects = con.execute(sql).fetchall()[0]
    finally:
        con.close()
    return db, {
        "persons": n_persons,
        "events": int(events),
        "subjects": int(subjects),
        "derived_as_of": derived["as_of"],
        "build_seconds": steps,
    }


@dataclass
class Questions:
    """What the benchmark asks: codes for GET (flight.economy) and the items of a batch."""

    codes: list[str]
    batch: list[tuple[str, str]]
    mix: dict[str, int]
    batch_mix: dict[str, int]


def pick_questions(db: Path, n_codes: int, n_batch: int, seed: int = 5) -> Questions:
    """A quarter restricted for flight.economy (as many as there are), a quarter valid codes the
    platform has nothing on, the rest allowed subjects; the batch has the same mix over the
    flight actions."""
    rng = np.random.default_rng(seed)
    with DuckDBStore(db, Settings(db=db)) as store:
        decider = Decider(store, party="bench")
        flights = sorted(a for a in decider.catalog.actions if matches(PURPOSE, a))
        on_file = [str(r[0]) for r in store.con.execute("SELECT subject_id FROM subjects ORDER BY 1").fetchall()]
        listed = [
            str(r[0])
            for r in store.con.execute(
                "SELECT DISTINCT subject_id FROM d_measures WHERE kind = 'restriction' ORDER BY 1"
            ).fetchall()
        ]

        def allowed(codes: list[str]) -> list[bool]:
            out = decider.answer_many([(c, ACTION) for c in codes])  # answers only: nothing is logged
            return [not isinstance(a, DecisionError) and bool(a["allowed"]) for a in out]

        restricted = [c for c, ok in zip(listed, allowed(listed), strict=True) if not ok]
        known, barred = set(on_file), set(restricted)
        free = [c for c in on_file if c not in barred]
        sample = [free[i] for i in rng.choice(len(free), min(len(free), 4 * n_codes), replace=False)]
        allowed_codes = [c for c, ok in zip(sample, allowed(sample), strict=True) if ok]
        unknown = [c for c in persons(rng, 2 * n_codes).to_pylist() if c not in known]

    def draw(pool: list[str], k: int) -> list[str]:
        return [pool[i] for i in rng.integers(0, len(pool), k)] if pool and k else []

    def mixed(n: int, distinct: bool) -> tuple[list[str], dict[str, int]]:
        n_r = min(n // 4, len(restricted)) if distinct else (n // 4 if restricted else 0)
        n_u = n // 4
        n_a = n - n_r - n_u
        if distinct:
            some = [restricted[i] for i in rng.permutation(len(restricted))[:n_r]]
            parts = (some, unknown[:n_u], allowed_codes[:n_a])
        else:
            parts = (draw(restricted, n_r), draw(unknown, n_u), draw(allowed_codes, n_a))
        joined = [c for part in parts for c in part]
        codes = [joined[i] for i in rng.permutation(len(joined))]
        return codes, {"restricted": len(parts[0]), "unknown": len(parts[1]), "allowed": len(parts[2])}

    codes, mix = mixed(n_codes, distinct=True)
    batch_codes, batch_mix = mixed(n_batch, distinct=False)
    batch = [(c, flights[i % len(flights)]) for i, c in enumerate(batch_codes)]
    return Questions(codes, batch, mix, batch_mix)


def create_key(db: Path) -> str:
    made = cli("keys", "create", "--db", db, "--role", "relying_party", "--purpose", PURPOSE, "--name", PARTY, "--json")
    key: str = json.loads(made)["key"]
    return key


def count_decisions(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM decisions").fetchall()[0][0])
    finally:
        con.close()


# -- measurements -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    procs: Processes, server: subprocess.Popen[Any], port: int, requests: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    """One load run; refused unless every response was a 200. With the CPU time the server and the
    load generator spent per response (warm-up included): less sensitive than requests/s to other
    work on the machine."""
    spec = {
        "host": HOST,
        "port": port,
        "connections": args.connections,
        "warmup": args.warmup,
        "seconds": args.seconds,
        "requests": [r.decode() for r in requests],
    }
    cpu_before = cpu_seconds(server.pid)
    result = procs.load(spec)
    responses = max(1, result["responses"])
    result["server_cpu_ms"] = (cpu_seconds(server.pid) - cpu_before) * 1000 / responses
    result["client_cpu_ms"] = result["client_cpu_s"] * 1000 / responses
    bad = {k: v for k, v in result["statuses"].items() if k != "200"}
    if bad or result["errors"]:
        raise SystemExit(f"not every response was a 200: statuses {result['statuses']}, errors {result['errors']}")
    return result


def time_posts(port: int, request: bytes, posts: int, expected: int) -> dict[str, Any]:
    """``posts`` batch checks in a row over one connection (after one warm-up); each answer checked."""
    client = Client(HOST, port)
    times: list[float] = []
    size = 0
    try:
        for i in range(posts + 1):
            t0 = time.perf_counter()
            status, body = client.send(request)
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise SystemExit(f"POST /api/v1/check answered {status}: {body[:500]!r}")
            answer = json.loads(body)
            if answer["count"] != expected or answer["decisions"] != expected:
                raise SystemExit(f"POST /api/v1/check: {answer['count']} results, {answer['decisions']} decisions")
            size = len(body)
            if i:
                times.append(elapsed)
    finally:
        client.close()
    return {
        "requests": posts,
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "response_bytes": size,
    }


def time_in_process(db: Path, batch: list[tuple[str, str]], reps: int) -> dict[str, Any]:
    """The same batch answered in-process, as the endpoint's handler does it (the server stopped)."""
    items: list[tuple[str, str, str | None]] = [(c, a, PURPOSE) for c, a in batch]
    pairs = [(c, a) for c, a, _ in items]
    with DuckDBStore(db, Settings(db=db)) as store:
        serving = Platform(store)
        decider = serving.decider
        decider.answer_many(pairs, None, PARTY)  # warm-up
        many: list[float] = []
        logged: list[float] = []
        dumps: list[float] = []
        for _ in range(reps):
            t0 = time.perf_counter()
            decider.answer_many(pairs, None, PARTY)
            many.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            answers = serving.check(items, PARTY, None)
            logged.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            json.dumps({"count": len(answers), "results": answers})
            dumps.append(time.perf_counter() - t0)

    def ms(values: list[float]) -> dict[str, float]:
        return {"median_ms": statistics.median(values) * 1000, "min_ms": min(values) * 1000}

    return {"answer_many": ms(many), "platform_check": ms(logged), "json_dumps": ms(dumps)}


def access_lines(log: Path, marker: str) -> int:
    """Access log lines of a server's log that contain ``marker``."""
    with log.open(encoding="utf-8", errors="replace") as fh:
        return sum(1 for line in fh if marker in line)


# -- the run ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path, procs: Processes) -> dict[str, Any]:
    result: dict[str, Any] = {"load_before": os.getloadavg()}
    t0 = time.perf_counter()
    db, data = build_database(work, args.persons)
    result["data"] = data
    say(
        f"database: {data['persons']:,} persons simulated, {data['subjects']:,} subjects on file, "
        f"{data['events']:,} events, derived for {data['derived_as_of']} "
        f"({time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in data["build_seconds"].items())
        + ")"
    )
    key = create_key(db)
    questions = pick_questions(db, args.codes, args.batch)
    result["codes"] = questions.mix
    say(
        f"codes for GET /check/{{code}}/{ACTION}: {len(questions.codes):,} "
        f"({questions.mix['restricted']:,} restricted, {questions.mix['allowed']:,} allowed, "
        f"{questions.mix['unknown']:,} valid codes unknown to the platform)"
    )
    before = count_decisions(db)

    serve_port, hello_port = free_port(), free_port()
    serve_log, hello_log = work / "serve.log", work / "hello.log"
    exe = str(Path(sys.executable).with_name("socialcredit"))
    server = procs.start([exe, "serve", "--db", str(db), "--host", HOST, "--port", str(serve_port)], serve_log)
    hello = procs.start(
        [sys.executable, "-P", str(HERE / "asgi_hello.py"), "--host", HOST, "--port", str(hello_port)], hello_log
    )
    wait_for("the hello world", hello, hello_log, hello_port, "/")
    wait_for("socialcredit serve", server, serve_log, serve_port, "/api/v1/health")
    client = Client(HOST, serve_port)
    status, body = client.request("GET", "/api/v1/ready")
    client.close()
    ready = json.loads(body)
    if status != 200 or ready["stale"]:
        raise SystemExit(f"the service is not answering from a fresh derive: {ready}")
    http_impl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop_impl = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    uvicorn_version = importlib.metadata.version("uvicorn")
    result["servers"] = {"uvicorn": uvicorn_version, "http": http_impl, "loop": loop_impl}
    say(
        f"servers: uvicorn {uvicorn_version} ({http_impl}, {loop_impl} loop), one worker each, log level info, "
        "access log on for both (one line per request, to a file)"
    )
    say(
        f"load: {args.connections} keep-alive HTTP/1.1 connections, one request in flight on each, "
        f"{args.warmup:g} s warm-up, {args.seconds:g} s measured, from a separate process"
    )

    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    hello_requests = [build_request("GET", "/", f"{HOST}:{hello_port}", headers)]
    check_requests = [
        build_request("GET", f"/api/v1/check/{c}/{ACTION}", f"{HOST}:{serve_port}", headers) for c in questions.codes
    ]
    rounds: list[dict[str, Any]] = []
    checked = 0
    say(
        f"\n{'round':>5}  {'target':44s} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'server CPU':>10} {'client CPU':>10}\n{'':>5}  {'':44s} {'':>9} {'':>8} {'':>8} {'':>8} "
        f"{'ms/req':>10} {'ms/req':>10}"
    )
    for r in range(1, args.rounds + 1):
        raw = load(procs, hello, hello_port, hello_requests, args)
        check = load(procs, server, serve_port, check_requests, args)
        checked += check["responses"]
        ratio = check["rps"] / raw["rps"]
        cpu_ratio = raw["server_cpu_ms"] / check["server_cpu_ms"]
        rounds.append({"raw": raw, "check": check, "ratio": ratio, "cpu_ratio": cpu_ratio})
        for label, m in (("raw ASGI hello world  GET /", raw), (f"GET /api/v1/check/{{code}}/{ACTION}", check)):
            say(
                f"{r:5d}  {label:44s} {m['rps']:9,.0f} {m['p50_ms']:8.1f} {m['p99_ms']:8.1f} {m['max_ms']:8.1f} "
                f"{m['server_cpu_ms']:10.3f} {m['client_cpu_ms']:10.3f}"
            )
    ratio = statistics.median(x["ratio"] for x in rounds)
    cpu_ratio = statistics.median(x["cpu_ratio"] for x in rounds)
    result["rounds"] = rounds
    result["ratio"] = ratio
    result["cpu_ratio"] = cpu_ratio

    body_bytes = json.dumps(
        {"items": [{"subject_id": c, "action": a} for c, a in questions.batch]}, separators=(",", ":")
    ).encode()
    post = build_request(
        "POST", "/api/v1/check", f"{HOST}:{serve_port}", {**headers, "Content-Type": "application/json"}, body_bytes
    )
    posts = time_posts(serve_port, post, args.posts, len(questions.batch))
    result["post"] = posts
    result["load_after"] = os.getloadavg()
    procs.stop(server)
    procs.stop(hello)
    access = {
        "hello": access_lines(hello_log, '"GET / HTTP/1.1" 200'),
        "check": access_lines(serve_log, '"GET /api/v1/check/'),
    }
    result["access_log_lines"] = access

    logged = count_decisions(db) - before
    expected = checked + (args.posts + 1) * len(questions.batch)
    result["decisions"] = {"rows": logged, "expected": expected}
    inproc = time_in_process(db, questions.batch, args.posts)
    result["in_process"] = inproc

    say(
        f"\nratio check / raw ASGI (req/s): {ratio:.3f}"
        + (f" (median of {args.rounds} rounds)" if args.rounds > 1 else "")
        + f"; goal >= {GOAL_RATIO:.2f}: {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    say(
        f"ratio of server CPU per request, raw ASGI / check: {cpu_ratio:.3f} "
        "(the req/s ratio if both were bound by their CPU time alone; less sensitive to other work on the machine)"
    )
    bm = questions.batch_mix
    say(
        f"\nPOST /api/v1/check, {len(questions.batch):,} items ({bm['restricted']:,} restricted subjects, "
        f"{bm['allowed']:,} allowed, {bm['unknown']:,} unknown; the flight actions), {args.posts} in a row "
        f"after one warm-up: median {posts['median_ms']:,.0f} ms, min {posts['min_ms']:,.0f} ms "
        f"(answer {posts['response_bytes'] / 1e6:.1f} MB); goal < {GOAL_BATCH_MS:.0f} ms: "
        f"{'met' if posts['median_ms'] < GOAL_BATCH_MS else 'NOT met'}"
    )
    say("  in-process, the same items (median / min of the same number of runs):")
    for label, name in (
        ("Decider.answer_many (answers)", "answer_many"),
        ("Platform.check (answers + decision log)", "platform_check"),
        ("json.dumps of those answers", "json_dumps"),
    ):
        say(f"    {label:42s} {inproc[name]['median_ms']:8,.0f} ms {inproc[name]['min_ms']:8,.0f} ms")
    say(
        f"  HTTP, validation and JSON over Platform.check: "
        f"{posts['median_ms'] - inproc['platform_check']['median_ms']:,.0f} ms of the median"
    )
    say(
        f"\ndecision log: {logged:,} rows added by the run's requests; {expected:,} answered "
        f"({checked:,} GET checks, warm-up included, + {args.posts + 1} x {len(questions.batch):,} POSTed items): "
        f"{'one row per answered check' if logged == expected else 'MISMATCH'}"
    )
    say(
        f"access log lines: hello world {access['hello']:,}, check {access['check']:,}; "
        f"load average before {' '.join(f'{x:.2f}' for x in result['load_before'])}, "
        f"after {' '.join(f'{x:.2f}' for x in result['load_after'])}"
    )
    say(
        f"\ngoals: check at >= {GOAL_RATIO:.0%} of raw ASGI: {'met' if ratio >= GOAL_RATIO else 'NOT met'} "
        f"({ratio:.1%}); {len(questions.batch):,}-item POST under {GOAL_BATCH_MS:.0f} ms: "
        f"{'met' if posts['median_ms'] < GOAL_BATCH_MS else 'NOT met'} ({posts['median_ms']:,.0f} ms)"
    )
    if logged != expected:
        raise SystemExit(f"the decision log has {logged} new rows, {expected} were expected")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000, help="persons of the simulated city")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds of each load run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="load runs of each server, alternating")
    parser.add_argument("--codes", type=int, default=2000, help="identity codes the GET checks rotate over")
    parser.add_argument("--batch", type=int, default=10_000, help="items of the POST /check")
    parser.add_argument("--posts", type=int, default=5, help="timed POST /check requests")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (kept; a database in it is reused)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument("--json", action="store_true", help="print the results as JSON (progress on stderr)")
    args = parser.parse_args()
    _JSON[0] = args.json
    os.environ["SOCIALCREDIT_TODAY"] = os.environ.get("SOCIALCREDIT_TODAY") or date.today().isoformat()
    os.environ["SOCIALCREDIT_PROGRESS"] = "false"
    work = args.dir or Path(tempfile.mkdtemp(prefix="sc-bench-http-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        with processes() as procs:
            result = run(args, work, procs)
    except KeyboardInterrupt:
        raise SystemExit("interrupted: every process the benchmark started was stopped") from None
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            say(f"work folder kept: {work}")
    if args.json:
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()

"""A real ``socialcredit serve`` process on a free port, and a database of the bundled sample
with one key per role, for the HTTP tests (requests go over a real socket with httpx)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from socialcredit.sample import sample_files, sample_subject

from conftest import run_cli

TODAY = "2026-11-26"
ENV = {"SOCIALCREDIT_TODAY": TODAY, "SOCIALCREDIT_PROGRESS": "false"}
OTHER_SUBJECT = "110105199001010352"  # on the judgment defaulters list in the sample
ROLES = ("anonymous", "operator", "agency", "relying_party", "subject")
PARTY = "Rongcheng Air ticketing"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_key(db: Path, *args: str) -> dict[str, Any]:
    """``keys create ... --json`` (asserting success)."""
    res = run_cli("keys", "create", "--db", db, "--json", *args, env=ENV)
    assert res.code == 0, res.err
    data: dict[str, Any] = res.json()
    return data


def sample_db(folder: Path) -> tuple[Path, dict[str, str]]:
    """The sample ingested and derived, with keys: role -> key (``subject`` is the sample subject's,
    ``subject_other`` another person's, ``agency`` the court's, ``agency_railway`` the railway's)."""
    db = folder / "sc.duckdb"
    steps: list[tuple[str | Path, ...]] = [
        ("init", "--db", db),
        ("ingest", "--db", db, "--json", "--rejects", folder / "rejects.jsonl", *sample_files()),
        ("derive", "--db", db),
    ]
    for args in steps:
        res = run_cli(*args, env=ENV)
        assert res.code == 0, res.err
    keys = {
        "operator": create_key(db, "--role", "operator", "--name", "ops desk")["key"],
        "agency": create_key(db, "--role", "agency", "--source", "court", "--name", "Rongcheng court")["key"],
        "agency_railway": create_key(db, "--role", "agency", "--source", "railway")["key"],
        "relying_party": create_key(db, "--role", "relying_party", "--purpose", "flight.*", "--name", PARTY)["key"],
        "subject": create_key(db, "--role", "subject", "--subject", sample_subject())["key"],
        "subject_other": create_key(db, "--role", "subject", "--subject", OTHER_SUBJECT)["key"],
    }
    return db, keys


@dataclass
class Server:
    """A running ``socialcredit serve``."""

    db: Path
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, role: str = "anonymous") -> httpx.Client:
        """A client sending the role's key (none for ``anonymous``)."""
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role != "anonymous" else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=120)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.proc.kill()
        self.proc.wait(timeout=60)


def start_server(db: Path, log: Path, env: Mapping[str, str] | None = None) -> Server:
    """Start ``python -m socialcredit serve`` on a free port and wait until /health answers."""
    port = free_port()
    full_env = {**os.environ, **ENV, **(env or {})}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "socialcredit", "serve", "--db", str(db), "--port", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = Server(db, f"http://127.0.0.1:{port}", proc, log)
    for _ in range(600):  # waiting for start-up, not a timed assertion
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(server.url + "/api/v1/health", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"the server did not answer: {log.read_text()}")


def serving(db: Path, keys: dict[str, str], log: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A fixture body: a server for the database, stopped afterwards."""
    server = start_server(db, log, env)
    server.keys = keys
    try:
        yield server
    finally:
        server.stop()


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a query on a database no server holds."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error with the envelope (and the code, when given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error

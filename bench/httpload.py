"""A light HTTP/1.1 load generator and client for bench/http.py (no third-party code).

As a program it reads a JSON spec on standard input, opens ``connections`` keep-alive
connections to ``host:port`` and keeps one request in flight on each (no pipelining), cycling
through the pre-built ``requests``; responses are framed by their ``Content-Length``. After
``warmup`` seconds it measures for ``seconds``: throughput and per-request latency of the
responses completed in that window. Then it stops sending, lets the requests in flight finish
and prints one JSON object: requests/s, latency percentiles in ms, every status seen, the
total number of responses (warm-up included) and the CPU time the generator used.

    echo '{"host": "127.0.0.1", "port": 8001, "connections": 64, "warmup": 2, "seconds": 10,
           "requests": ["GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n"]}' | python -P bench/httpload.py

(``-P``: bench/ holds http.py, which must not hide the standard library's http package.)
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HEAD_END = b"\r\n\r\n"


class ProtocolError(RuntimeError):
    """A response this client cannot frame (no Content-Length) or a connection lost mid-run."""


def parse_head(head: bytes) -> tuple[int, int]:
    """(status, Content-Length) of a response head (status line and headers, without the blank line)."""
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ProtocolError(f"a response without Content-Length: {head[:200]!r}")
    start = at + len(b"\r\ncontent-length:")
    stop = lower.find(b"\r\n", start)
    return status, int(lower[start : stop if stop >= 0 else len(lower)].strip())


def build_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """The bytes of an HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- the load generator -------------------------------------------------------------------------


@dataclass
class Tally:
    """What every connection records."""

    window_start: float = float("inf")
    window_end: float = float("inf")
    stopping: bool = False
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


class Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight."""

    def __init__(self, tally: Tally, requests: list[bytes], offset: int) -> None:
        self.tally = tally
        self.requests = requests
        self.turn = offset
        self.buf = bytearray()
        self.need = -1
        self.status = 0
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self) -> None:
        """Send the next request, or close when the run is over."""
        assert self.transport is not None
        if self.tally.stopping:
            self.transport.close()
            return
        request = self.requests[self.turn % len(self.requests)]
        self.turn += 1
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                end = self.buf.find(HEAD_END)
                if end < 0:
                    return
                try:
                    self.status, length = parse_head(bytes(self.buf[:end]))
                except (ProtocolError, ValueError) as exc:
                    self.fail(str(exc))
                    return
                self.need = end + len(HEAD_END) + length
            if len(self.buf) < self.need:
                return
            del self.buf[: self.need]
            self.need = -1
            now = time.perf_counter()
            tally = self.tally
            tally.statuses[self.status] += 1
            if tally.window_start <= now < tally.window_end:
                tally.latencies.append(now - self.sent_at)
            self.send()

    def fail(self, message: str) -> None:
        self.tally.errors.append(message)
        self.tally.stopping = True
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.tally.stopping:
            self.tally.errors.append(f"connection lost during the run: {exc!r}")
        if not self.done.done():
            self.done.set_result(None)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Connect, warm up, measure, drain; the summary of the measured window."""
    loop = asyncio.get_running_loop()
    requests = [r.encode() for r in spec["requests"]]
    n, warmup, seconds = int(spec["connections"]), float(spec["warmup"]), float(spec["seconds"])
    tally = Tally()
    conns: list[Connection] = []

    def opened(offset: int) -> Callable[[], Connection]:
        return lambda: Connection(tally, requests, offset)

    for i in range(n):
        _, conn = await loop.create_connection(opened(i * len(requests) // n), spec["host"], int(spec["port"]))
        conns.append(conn)
    started = time.perf_counter()
    tally.window_start = started + warmup
    tally.window_end = tally.window_start + seconds
    for c in conns:
        c.send()
    await asyncio.sleep(warmup + seconds)
    tally.stopping = True
    await asyncio.wait_for(asyncio.gather(*(c.done for c in conns)), timeout=120)
    ordered = sorted(tally.latencies)
    ms = 1000.0
    return {
        "connections": n,
        "warmup": warmup,
        "seconds": seconds,
        "requests": len(ordered),
        "rps": len(ordered) / seconds,
        "mean_ms": sum(ordered) / len(ordered) * ms if ordered else 0.0,
        "p50_ms": percentile(ordered, 50) * ms,
        "p90_ms": percentile(ordered, 90) * ms,
        "p99_ms": percentile(ordered, 99) * ms,
        "max_ms": (ordered[-1] if ordered else 0.0) * ms,
        "responses": sum(tally.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors[:10],
        "client_cpu_s": time.process_time(),
    }


# -- a blocking client (one keep-alive connection) ----------------------------------------------


class Client:
    """Sequential requests over one keep-alive connection."""

    def __init__(self, host: str, port: int, timeout: float = 300.0) -> None:
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, request: bytes) -> tuple[int, bytes]:
        """Send pre-built request bytes; (status, body) of the response."""
        self.sock.sendall(request)
        buf = bytearray()
        while (end := buf.find(HEAD_END)) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed before a response")
            buf += chunk
        status, length = parse_head(bytes(buf[:end]))
        need = end + len(HEAD_END) + length
        while len(buf) < need:
            chunk = self.sock.recv(max(65536, need - len(buf)))
            if not chunk:
                raise ProtocolError("connection closed in a response body")
            buf += chunk
        return status, bytes(buf[end + len(HEAD_END) : need])

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        """(status, body) of one request."""
        return self.send(build_request(method, path, self.host, headers or {}, body))

    def close(self) -> None:
        self.sock.close()


def main() -> None:
    spec = json.load(sys.stdin)
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()

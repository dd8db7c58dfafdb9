"""The service's decision log writer: group commit.

Every answered check is written to the decision log before its answer leaves. Writing each
request's rows in a commit of its own would make the commit the cost of a check; instead the
requests hand their rows to one writer thread and wait. While the writer commits one group,
the rows of the requests that arrive gather; the next commit writes them all in one statement
and releases every request of the group at once. A lone request is written at once;
``interval`` (setting ``SOCIALCREDIT_DECISION_LOG_GROUP_MS``) can space commits further apart.
An answer is still sent only after its rows are committed, so a crash loses no answered
decision.

The writer uses its own connection to the database (a DuckDB cursor): appends to the log never
conflict with the platform's other work, so it does not take the store's write lock."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from socialcredit.decide.service import write_decisions

Rows = list[tuple[Any, ...]]
Done = Callable[[BaseException | None], None]
"""Told the outcome of a write: None once committed, else the error."""


class DecisionLogWriter:
    """Writes the rows of many requests in one commit."""

    def __init__(self, con: Any, interval: float = 0.0) -> None:
        self._con = con
        self._interval = interval
        # requests' rows, or None to stop; a C-level queue: putting costs a request little
        self._queue: queue.SimpleQueue[tuple[Rows, Done] | None] = queue.SimpleQueue()
        self._closed = False
        self._last = 0.0  # when the last commit started (monotonic seconds)
        self.groups = 0  # commits made
        self.rows = 0  # rows written
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def submit(self, rows: Rows) -> Future[None]:
        """Queue rows of ``decision_rows`` for the next commit; the future is done once they
        are committed (or failed with the error of their write)."""
        done: Future[None] = Future()
        self._put(rows, lambda error: done.set_result(None) if error is None else done.set_exception(error))
        return done

    def write(self, rows: Rows) -> None:
        """Queue rows and wait until they are committed (re-raising the write's error)."""
        self.submit(rows).result()

    async def commit(self, rows: Rows) -> None:
        """Queue rows and wait, on the running event loop, until they are committed. The
        requests of one group that wait on the same loop are woken by one call."""
        if not rows:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._put(rows, _LoopWaiter(loop, done))
        await done

    def close(self) -> None:
        """Write what is queued, stop the writer and close its connection."""
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._con.close()

    def _put(self, rows: Rows, done: Done) -> None:
        if not rows:
            done(None)
            return
        if self._closed:
            raise RuntimeError("the decision log writer is closed")
        self._queue.put((rows, done))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            wait = self._last + self._interval - time.monotonic()
            if first is not None and wait > 0:
                time.sleep(wait)  # let the group gather
            group: list[tuple[Rows, Done]] = []
            item = first
            while True:
                if item is None:
                    stopping = True
                else:
                    group.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                self._last = time.monotonic()
                self._commit(group)
                _LoopWaiter.wake_all(group)

    def _commit(self, group: list[tuple[Rows, Done]]) -> None:
        if len(group) > 1:
            try:
                self._write([row for rows, _ in group for row in rows])
            except Exception:  # each request's rows are written again below, alone
                pass
            else:
                for _, done in group:
                    done(None)
                return
        # one request's rows must not fail the others': one request at a time
        for rows, done in group:
            try:
                self._write(rows)
            except Exception as exc:
                done(exc)
            else:
                done(None)

    def _write(self, rows: Rows) -> None:
        write_decisions(self._con, rows)
        self.groups += 1
        self.rows += len(rows)


class _LoopWaiter:
    """A request waiting on an event loop: its outcome is noted by the writer thread, and the
    waiters of one group are woken on their loop by one thread-safe call (``wake_all``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self.loop = loop
        self.future = future
        self.error: BaseException | None = None

    def __call__(self, error: BaseException | None) -> None:
        self.error = error

    def wake(self) -> None:
        if self.future.done():  # the request was cancelled (the client went away)
            return
        if self.error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(self.error)

    @staticmethod
    def wake_all(group: list[tuple[Rows, Done]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_LoopWaiter]] = {}
        for _, done in group:
            if isinstance(done, _LoopWaiter):
                by_loop.setdefault(done.loop, []).append(done)
        for loop, waiters in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_wake, waiters)


def _wake(waiters: list[_LoopWaiter]) -> None:
    for waiter in waiters:
        waiter.wake()

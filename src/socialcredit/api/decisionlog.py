"""The service's decision log writer: group commit.

Every answered check is written to the decision log before its answer leaves. Writing each
request's rows in a commit of its own would make the commit the cost of a check; instead the
requests hand their rows to one writer thread and wait. While the writer commits one group, the
rows of the next requests gather; it then writes all of them in one statement and one commit
and releases every request of the group at once. An answer is still sent only after its rows
are committed, so a crash loses no answered decision.

The writer uses its own connection to the database (a DuckDB cursor): appends to the log never
conflict with the platform's other work, so it does not take the store's write lock."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from socialcredit.decide.service import write_decisions


class DecisionLogWriter:
    """Writes the rows of many requests in one commit; ``submit`` gives a future that is done
    once the rows are committed (or failed with the error of their write)."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self._pending: list[tuple[list[tuple[Any, ...]], Future[None]]] = []
        self._ready = threading.Condition()
        self._closed = False
        self.groups = 0  # commits made
        self.rows = 0  # rows written
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def submit(self, rows: list[tuple[Any, ...]]) -> Future[None]:
        """Queue rows of ``decision_rows`` for the next commit."""
        done: Future[None] = Future()
        if not rows:
            done.set_result(None)
            return done
        with self._ready:
            if self._closed:
                raise RuntimeError("the decision log writer is closed")
            self._pending.append((rows, done))
            self._ready.notify()
        return done

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Queue rows and wait until they are committed (re-raising the write's error)."""
        self.submit(rows).result()

    def close(self) -> None:
        """Write what is queued, stop the writer and close its connection."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join()
        self._con.close()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closed:
                    self._ready.wait()
                if not self._pending:
                    return
                group, self._pending = self._pending, []
            self._commit(group)

    def _commit(self, group: list[tuple[list[tuple[Any, ...]], Future[None]]]) -> None:
        if len(group) > 1:
            try:
                self._write([row for rows, _ in group for row in rows])
            except Exception:  # each request's rows are written again below, alone
                pass
            else:
                for _, done in group:
                    done.set_result(None)
                return
        # one request's rows must not fail the others': one request at a time
        for rows, done in group:
            try:
                self._write(rows)
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        write_decisions(self._con, rows)
        self.groups += 1
        self.rows += len(rows)

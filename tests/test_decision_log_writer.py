"""The service's decision log writer (group commit) over a real DuckDB database: every
request's decisions are committed exactly once, concurrent requests share commits, one bad
request fails alone, and waiting on an event loop works as waiting on a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from socialcredit.api.decisionlog import DecisionLogWriter
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    db = tmp_path / "log.duckdb"
    with DuckDBStore(db, Settings(db=db)) as opened:
        opened.migrate()
        yield opened


def _rows(request: str, n: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    versions = ("sha256:c", "1@2026-11-26")
    asked = ("party", "flight.*", "110101199003070011", "flight.economy")
    return [
        (f"dec-{request}-{i}", now, *asked, True, True, date(2026, 11, 26), None, *versions, "[]", None)
        for i in range(n)
    ]


def _logged(store: DuckDBStore) -> list[str]:
    return [r[0] for r in store.con.execute("SELECT decision_id FROM decisions ORDER BY 1").fetchall()]


def test_concurrent_requests_are_committed_once_each_in_shared_commits(store: DuckDBStore) -> None:
    writer = DecisionLogWriter(store.cursor(), interval=0.02)
    start = threading.Barrier(16)

    def request(n: int) -> None:
        start.wait()
        for k in range(5):
            writer.write(_rows(f"{n}-{k}", 3))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    commits = writer.groups
    writer.close()
    expected = sorted(f"dec-{n}-{k}-{i}" for n in range(16) for k in range(5) for i in range(3))
    assert _logged(store) == expected
    assert writer.rows == len(expected)
    assert commits < 16 * 5  # requests that waited together were committed together


def test_a_bad_request_fails_alone(store: DuckDBStore) -> None:
    writer = DecisionLogWriter(store.cursor(), interval=0.05)
    good = [writer.submit(_rows("good-a", 2)), writer.submit(_rows("good-b", 1))]
    bad_rows = [(*_rows("bad", 1)[0][:2], None, *_rows("bad", 1)[0][3:])]  # party is NOT NULL
    bad = writer.submit(bad_rows)
    good.append(writer.submit(_rows("good-c", 1)))
    for done in good:
        assert done.result(timeout=30) is None
    with pytest.raises(Exception, match="NOT NULL"):
        bad.result(timeout=30)
    writer.close()
    assert _logged(store) == ["dec-good-a-0", "dec-good-a-1", "dec-good-b-0", "dec-good-c-0"]


def test_requests_waiting_on_an_event_loop_are_woken_once_committed(store: DuckDBStore) -> None:
    writer = DecisionLogWriter(store.cursor(), interval=0.01)

    async def main() -> None:
        await asyncio.gather(*(writer.commit(_rows(f"loop-{n}", 2)) for n in range(50)))
        # every waiter returned only after its rows were committed: they are all readable now
        assert len(_logged(store)) == 100

    asyncio.run(main())
    writer.close()
    assert writer.rows == 100


def test_closing_writes_what_is_queued_and_refuses_more(store: DuckDBStore) -> None:
    writer = DecisionLogWriter(store.cursor(), interval=0.2)
    writer.write(_rows("first", 1))
    queued = writer.submit(_rows("queued", 4))  # waits for the interval after the first commit
    writer.close()
    assert queued.done()
    assert queued.result() is None
    assert len(_logged(store)) == 5
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(_rows("late", 1))


def test_nothing_to_write_is_done_at_once(store: DuckDBStore) -> None:
    writer = DecisionLogWriter(store.cursor())
    assert writer.submit([]).result(timeout=0) is None
    asyncio.run(asyncio.wait_for(writer.commit([]), timeout=5))
    writer.close()
    assert writer.groups == 0

"""The read-ahead of ingest chunks: same items in the same order, errors in their place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from socialcredit.ingest.ahead import read_ahead


def test_items_arrive_in_order_and_the_producer_runs_at_most_one_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(5):
            produced.append(i)
            yield i

    seen = []
    for item in read_ahead(items):
        seen.append(item)
        assert len(produced) <= item + 2
    assert seen == [0, 1, 2, 3, 4]


def test_an_error_of_the_producer_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken at 3")

    seen: list[int] = []

    def consume() -> None:
        for item in read_ahead(items):
            seen.append(item)

    with pytest.raises(ValueError, match="broken at 3"):
        consume()
    assert seen == [1, 2]


def closing_source() -> tuple[Callable[[], Iterator[int]], threading.Event]:
    """A long source of items and the event it sets when it is closed."""
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    return items, closed


def test_stopping_early_closes_the_source_and_ends_the_thread() -> None:
    items, closed = closing_source()

    ahead = read_ahead(items, name="test-read-ahead")
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()
    assert not any(t.name == "test-read-ahead" for t in threading.enumerate())


def test_an_error_of_the_consumer_stops_the_producer() -> None:
    items, closed = closing_source()

    def consume() -> None:
        for item in read_ahead(items):
            if item == 3:
                raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError):
        consume()
    assert closed.is_set()

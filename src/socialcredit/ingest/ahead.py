"""Reading ahead: the next chunk of a file is read and prepared in a background thread while
the current one is checked and stored, so that the two overlap."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar, cast

T = TypeVar("T")

_POLL = 0.1
"""Seconds between looks at the stop flag while the producer waits for the consumer."""


def read_ahead(items: Callable[[], Iterator[T]], name: str = "read-ahead") -> Generator[T, None, None]:
    """The items of ``items()``, each produced in a background thread while the consumer works
    on the previous one (at most one item ahead, to bound memory). An exception of the producer
    is raised in the consumer at its place in the sequence; closing this generator (or an
    exception in the consumer) stops the producer and waits for it."""
    slot: queue.SimpleQueue[tuple[bool, T | BaseException | None]] = queue.SimpleQueue()
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def offer(entry: tuple[bool, T | BaseException | None]) -> bool:
        """Hand over one entry; wait until the consumer took it (False: stopped instead)."""
        slot.put(entry)
        while not taken.acquire(timeout=_POLL):
            if stop.is_set():
                return False
        return not stop.is_set()

    def produce() -> None:
        source = items()
        try:
            for item in source:
                if not offer((True, item)):
                    return
            offer((False, None))
        except BaseException as exc:  # raised in the consumer
            offer((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            more, value = slot.get()
            taken.release()
            if not more:
                if isinstance(value, BaseException):
                    raise value
                return
            yield cast(T, value)
    finally:
        stop.set()
        worker.join()

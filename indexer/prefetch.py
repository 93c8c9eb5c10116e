"""Work done ahead in a thread: the one prefetcher of the project, and batching.

:func:`prefetch` runs an iterator in a worker thread, up to ``depth`` items ahead of the
consumer, so the next batch is decoded and preprocessed while the network runs on this one
(Pillow, numpy and TensorFlow release the GIL). An exception raised by the iterator is
re-raised in the consumer, after the items before it; closing the consumer stops the worker.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prefetch(items: Iterable[T], depth: int = 1, *, name: str = "prefetch") -> Iterator[T]:
    """The items of ``items``, computed in a worker thread up to ``depth`` ahead."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(entry: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # handed to the consumer, raised there
            put(_Raised(err))

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            entry = ready.get()
            if entry is done:
                return
            if isinstance(entry, _Raised):
                raise entry.error
            yield entry
    finally:
        stop.set()
        worker.join(timeout=5)


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error

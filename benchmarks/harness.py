"""Timing loops shared by every method: one-client latency and two-client throughput.

``search_one(i) -> ids`` answers query number ``i``. Loops stop at ``max_queries`` or when
``budget_s`` is spent (at least ``min_queries`` are always run), so a slow method (a tree at
high dimension) costs a bounded time and its row says how many queries it was measured on.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from benchmarks.metrics import latency_stats

SearchOne = Callable[[int], np.ndarray]


def one_client(search_one: SearchOne, n_queries: int, *, budget_s: float, max_queries: int | None = None,
               min_queries: int = 5, warmup: int = 2) -> tuple[dict, list[np.ndarray]]:
    limit = min(n_queries, max_queries or n_queries)
    for i in range(min(warmup, limit)):
        search_one(i)
    times: list[float] = []
    found: list[np.ndarray] = []
    start = time.perf_counter()
    for i in range(limit):
        t0 = time.perf_counter()
        ids = search_one(i)
        times.append(time.perf_counter() - t0)
        found.append(np.asarray(ids).reshape(-1))
        if i + 1 >= min_queries and time.perf_counter() - start > budget_s:
            break
    return latency_stats(times), found


def two_clients(search_one: SearchOne, n_queries: int, *, budget_s: float, clients: int = 2) -> dict:
    """Queries per second with ``clients`` threads each issuing one query at a time."""
    counts = [0] * clients
    stop_at = time.perf_counter() + budget_s
    errors: list[BaseException] = []

    def worker(c: int) -> None:
        i = c
        try:
            while time.perf_counter() < stop_at:
                search_one(i % n_queries)
                counts[c] += 1
                i += clients
        except BaseException as err:  # noqa: BLE001 - surfaced below
            errors.append(err)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return {"clients": clients, "qps": sum(counts) / wall, "queries": sum(counts)}

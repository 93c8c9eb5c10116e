"""Retrieval quality measures (pure): one query's ranking against its relevant ids.

A *ranking* is the ids an index answered, best first, the query itself left out; *relevant*
is the set of ids that count as right (the other renderings of the query's item).

- ``recall_at_k``: the share of the relevant ids found in the first ``k``; when there are
  more than ``k`` relevant ids the denominator is ``k``, so a perfect ranking scores 1.
- ``average_precision_at_k``: the mean, over the relevant ids found in the first ``k``, of
  the precision at the rank where each is found, divided by ``min(k, |relevant|)`` (so a
  relevant id not found counts as precision 0). ``mAP@k`` is its mean over queries.
- ``rank1``: whether the first answer is relevant (rank-1 accuracy over queries).

:func:`summarize` turns many queries into means; queries with no relevant id are left out
(they cannot be answered right or wrong) and counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Hashable

import numpy as np

Ids = Sequence[Hashable]


def recall_at_k(ranking: Ids, relevant: set, k: int = 10) -> float:
    _check(relevant, k)
    found = set(ranking[:k]) & relevant
    return len(found) / min(k, len(relevant))


def average_precision_at_k(ranking: Ids, relevant: set, k: int = 10) -> float:
    _check(relevant, k)
    hits, total, seen = 0, 0.0, set()
    for rank, doc in enumerate(ranking[:k], start=1):
        if doc in relevant and doc not in seen:
            seen.add(doc)
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def rank1(ranking: Ids, relevant: set) -> bool:
    return bool(ranking) and ranking[0] in relevant


@dataclass(frozen=True)
class Summary:
    """Means over the answerable queries."""

    queries: int
    recall_at_k: float
    map_at_k: float
    rank1: float
    k: int
    unanswerable: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(results: Iterable[tuple[Ids, set]], k: int = 10) -> Summary:
    """``results``: (ranking, relevant) per query."""
    n = skipped = 0
    recall = ap = first = 0.0
    for ranking, relevant in results:
        if not relevant:
            skipped += 1
            continue
        n += 1
        recall += recall_at_k(ranking, relevant, k)
        ap += average_precision_at_k(ranking, relevant, k)
        first += rank1(ranking, relevant)
    nan = float("nan")
    return Summary(queries=n, recall_at_k=recall / n if n else nan, map_at_k=ap / n if n else nan,
                   rank1=first / n if n else nan, k=k, unanswerable=skipped)


def _check(relevant: set, k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not relevant:
        raise ValueError("a query needs at least one relevant id")


def overlap_at_k(a: Ids, b: Ids, k: int = 10) -> float:
    """Share of the top ``k`` that two rankings have in common (1: the same products)."""
    top_a, top_b = set(list(a)[:k]), set(list(b)[:k])
    n = max(len(top_a), len(top_b))
    return len(top_a & top_b) / n if n else 1.0


def rank_correlation(a: Ids, b: Ids) -> float | None:
    """Spearman's rho of the ranks of the products two rankings share; None below three shared."""
    pos_b = {x: i for i, x in enumerate(b)}
    shared = [x for x in a if x in pos_b]
    if len(shared) < 3:
        return None
    ra = np.arange(len(shared), dtype=np.float64)
    rb = np.argsort(np.argsort([pos_b[x] for x in shared])).astype(np.float64)
    return float(1.0 - 6.0 * np.sum((ra - rb) ** 2) / (len(shared) * (len(shared) ** 2 - 1)))

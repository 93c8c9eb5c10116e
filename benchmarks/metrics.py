"""Pure measures: recall / overlap of neighbour lists, precision of groups, latency statistics."""

from __future__ import annotations

import numpy as np


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the true top-``k`` ids that ``found`` (its first ``k``) contains.

    ``found`` may hold -1 for "no result" (a filter that lets fewer than k through, or an
    index that returned less); when the truth itself has fewer than k valid ids (-1 padded),
    the denominator is the number of valid true ids.
    """
    found = np.asarray(found)[:, :k]
    truth = np.asarray(truth)[:, :k]
    if found.shape[0] != truth.shape[0]:
        raise ValueError(f"found has {found.shape[0]} rows, truth {truth.shape[0]}")
    total = 0.0
    rows = 0
    for f, t in zip(found, truth):
        t_valid = set(int(x) for x in t if x >= 0)
        if not t_valid:
            continue
        total += len(t_valid.intersection(int(x) for x in f if x >= 0)) / len(t_valid)
        rows += 1
    return total / rows if rows else float("nan")


overlap_at_k = recall_at_k  # same formula: |A ∩ B| / k, read as "overlap" when neither is the truth


def precision_of_groups(neighbours: np.ndarray, groups: np.ndarray, query_ids: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the first ``k`` neighbours sharing the query's group (the query excluded)."""
    neighbours = np.asarray(neighbours)
    groups = np.asarray(groups)
    hits = 0
    for qid, row in zip(query_ids, neighbours):
        ids = [int(x) for x in row if x >= 0 and x != qid][:k]
        hits += sum(groups[i] == groups[qid] for i in ids)
    return hits / (k * len(query_ids))


def exact_topk(queries: np.ndarray, docs: np.ndarray, k: int, *, mask: np.ndarray | None = None, block: int = 65_536):
    """Exact top-``k`` by inner product (cosine for normalised vectors), scanning ``docs`` in blocks.

    Returns ``(ids, scores)``; rows are padded with -1 / -inf when fewer than ``k`` pass ``mask``.
    """
    nq = queries.shape[0]
    best_s = np.full((nq, k), -np.inf, np.float32)
    best_i = np.full((nq, k), -1, np.int64)
    for lo in range(0, docs.shape[0], block):
        hi = min(lo + block, docs.shape[0])
        s = queries @ np.asarray(docs[lo:hi]).T
        if mask is not None:
            s[:, ~mask[lo:hi]] = -np.inf
        kk = min(k, hi - lo)
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        cs = np.concatenate([best_s, np.take_along_axis(s, part, axis=1)], axis=1)
        ci = np.concatenate([best_i, part + lo], axis=1)
        top = np.argsort(-cs, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cs, top, axis=1)
        best_i = np.take_along_axis(ci, top, axis=1)
    best_i[~np.isfinite(best_s)] = -1
    return best_i, best_s


def latency_stats(seconds: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    return {
        "n": int(a.size),
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "mean_ms": float(a.mean()),
    }

"""Section 'methods': numpy, scikit-learn trees, FAISS and hnswlib on the same vectors and queries."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks import harness
from benchmarks.data import SELECTIVITIES, Dataset, bucket_limit
from benchmarks.methods import FaissFlat, FaissHNSW, Hnswlib, Method, NumpyExact, SklearnTree, timed_build
from benchmarks.metrics import recall_at_k

log = logging.getLogger(__name__)
K = 10


@dataclass(frozen=True)
class Plan:
    """Which (size, width) each family runs at, and how long each timing loop may take."""

    exact_grid: tuple[tuple[int, int], ...]
    tree_grid: tuple[tuple[int, int], ...]
    hnsw_grid: tuple[tuple[int, int], ...]
    ef_sweep: tuple[int, ...] = (10, 20, 40, 80, 160, 320)
    default_ef: int = 80
    latency_budget_s: float = 3.0
    tree_budget_s: float = 10.0
    throughput_budget_s: float = 3.0
    max_latency_queries: int = 200
    filtered_recall_queries: int = 200


def default_plan(sizes: tuple[int, ...], *, quick: bool = False, large: bool = False) -> Plan:
    small = min(sizes)
    if quick:
        return Plan(
            exact_grid=((small, 128), (small, 256)),
            tree_grid=((small, 128),),
            hnsw_grid=((small, 128),),
            ef_sweep=(10, 40, 80, 160),
            latency_budget_s=0.5,
            tree_budget_s=1.0,
            throughput_budget_s=0.5,
            max_latency_queries=50,
            filtered_recall_queries=50,
        )
    # Default: exact methods everywhere, trees where they can finish, HNSW builds at the
    # smallest size (an HNSW build of 500k vectors takes ~10 minutes on 2 cores: --large).
    grid = tuple((n, w) for n in sizes for w in (128, 256, 1024))
    tree_sizes = [n for n in sizes if n <= 500_000]
    hnsw = [(small, 256)]
    if large:
        hnsw += [(small, 1024)] + [(n, 256) for n in sizes if n != small and n <= 500_000]
    return Plan(
        exact_grid=grid,
        tree_grid=tuple((n, w) for n in tree_sizes for w in (128, 256)) + ((small, 1024),),
        hnsw_grid=tuple(hnsw),
    )


def ground_truth(queries: np.ndarray, docs: np.ndarray, masks: dict[float, np.ndarray], k: int = K,
                 block: int = 50_000) -> dict[float, np.ndarray]:
    """Exact top-k for every filter in one scan of the documents (scores computed once)."""
    nq = queries.shape[0]
    best = {s: (np.full((nq, k), -np.inf, np.float32), np.full((nq, k), -1, np.int64)) for s in masks}
    for lo in range(0, docs.shape[0], block):
        hi = min(lo + block, docs.shape[0])
        scores = queries @ np.asarray(docs[lo:hi]).T
        for s, mask in masks.items():
            sc = scores if mask is None else np.where(mask[lo:hi], scores, -np.inf)
            kk = min(k, hi - lo)
            part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
            bs, bi = best[s]
            cs = np.concatenate([bs, np.take_along_axis(sc, part, axis=1)], axis=1)
            ci = np.concatenate([bi, part + lo], axis=1)
            top = np.argsort(-cs, axis=1, kind="stable")[:, :k]
            best[s] = (np.take_along_axis(cs, top, axis=1), np.take_along_axis(ci, top, axis=1))
    out = {}
    for s, (bs, bi) in best.items():
        bi = bi.copy()
        bi[~np.isfinite(bs)] = -1
        out[s] = bi
    return out


def masks_for(ds: Dataset, size: int) -> dict[float, np.ndarray | None]:
    buckets = np.asarray(ds.buckets(size))
    return {s: (None if s >= 1.0 else buckets < bucket_limit(s)) for s in SELECTIVITIES}


def _measure(method: Method, queries, truth, mask, plan: Plan, *, label_params: dict, recall_all: bool,
             throughput: bool, budget_s: float) -> dict:
    def one(i: int) -> np.ndarray:
        return method.search(queries[i : i + 1], K, mask)[0]

    # One query runs on one thread in every method (as Solr runs one query on one thread);
    # the two-client throughput then uses both cores. Batches (recall) use every thread.
    with threadpool_limits(1):
        lat, found = harness.one_client(one, len(queries), budget_s=budget_s,
                                        max_queries=plan.max_latency_queries)
    n_lat = len(found)
    slow = lat["p50_ms"] / 1000 * plan.filtered_recall_queries > budget_s  # e.g. hnswlib's Python filter
    if recall_all and not (mask is not None and slow):
        n_rec = len(queries) if mask is None else min(len(queries), plan.filtered_recall_queries)
        ids = method.search(queries[:n_rec], K, mask)
        rec = recall_at_k(ids, truth[:n_rec])
    else:
        n_rec = n_lat
        rec = recall_at_k(np.stack(found), truth[:n_lat])
    row = {
        "recall10": rec,
        "recall_queries": n_rec,
        "p50_ms": lat["p50_ms"],
        "p99_ms": lat["p99_ms"],
        "latency_queries": lat["n"],
        "params": label_params,
    }
    if throughput:
        with threadpool_limits(1):
            row["qps2"] = harness.two_clients(one, len(queries), budget_s=plan.throughput_budget_s)["qps"]
    return row


def _run_method(method: Method, ds: Dataset, size: int, width: int, gts, masks, plan: Plan, *, sweep=None,
                sweep_key=None, filters=True, recall_all=True, budget_s=None) -> list[dict]:
    docs = np.ascontiguousarray(ds.vectors(width, size))
    queries = ds.queries(width)
    build = timed_build(method, docs)
    del docs
    base = {"section": "methods", "method": method.name, "family": method.family, "size": size, "dims": width,
            "filter_mode": method.filter_mode, **build}
    rows = []
    budget = budget_s or plan.latency_budget_s
    for value in sweep or [None]:
        if sweep_key:
            method.set_search_param(**{sweep_key: value})
        is_default = value is None or value == plan.default_ef
        row = _measure(method, queries, gts[1.0], None, plan, label_params=dict(method.params), recall_all=recall_all,
                       throughput=is_default, budget_s=budget)
        rows.append({**base, "selectivity": 1.0, **row})
        log.info("%s n=%d d=%d %s recall=%.3f p50=%.2fms", method.name, size, width, value, row["recall10"], row["p50_ms"])
    if filters and method.filter_mode != "none":
        if sweep_key:
            method.set_search_param(**{sweep_key: plan.default_ef})
        for s, mask in masks.items():
            if mask is None:
                continue
            row = _measure(method, queries, gts[s], mask, plan, label_params=dict(method.params),
                           recall_all=recall_all, throughput=False, budget_s=budget)
            rows.append({**base, "selectivity": s, **row})
            log.info("%s n=%d d=%d filter=%s recall=%.3f p50=%.2fms", method.name, size, width, s, row["recall10"],
                     row["p50_ms"])
    method.close()
    return rows


def run(ds: Dataset, plan: Plan, gt_cache: dict) -> list[dict]:
    rows: list[dict] = []
    cells = sorted(set(plan.exact_grid) | set(plan.tree_grid) | set(plan.hnsw_grid))
    for size, width in cells:
        masks = masks_for(ds, size)
        key = (size, width)
        if key not in gt_cache:
            gt_cache[key] = ground_truth(ds.queries(width), ds.vectors(width, size), masks)
        gts = gt_cache[key]
        if key in plan.exact_grid:
            rows += _run_method(NumpyExact(), ds, size, width, gts, masks, plan, recall_all=False)
            rows += _run_method(FaissFlat(), ds, size, width, gts, masks, plan)
        if key in plan.tree_grid:
            for kind in ("KDTree", "BallTree"):
                rows += _run_method(SklearnTree(kind), ds, size, width, gts, masks, plan, filters=False,
                                    recall_all=False, budget_s=plan.tree_budget_s)
        if key in plan.hnsw_grid:
            rows += _run_method(FaissHNSW(M=32, efConstruction=40, efSearch=plan.default_ef), ds, size, width, gts,
                                masks, plan, sweep=plan.ef_sweep, sweep_key="efSearch")
            rows += _run_method(Hnswlib(M=16, ef_construction=100, ef=plan.default_ef), ds, size, width, gts, masks,
                                plan, sweep=plan.ef_sweep, sweep_key="ef")
        gc.collect()
    return rows

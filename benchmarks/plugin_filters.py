"""The exact plugin under filters: QTime at each selectivity against unfiltered and numpy.

``python -m benchmarks.plugin_filters [--size 100000] [--dims 256 1024] [--queries 40]``

One Solr node of the launcher; per width one collection of ``size`` random unit vectors (the
cheapest HNSW graph: the plugin never reads it) with a ``bucket_l`` in 0..999, force-merged to
one segment as a reindex leaves it, Solr's query result cache off. Per selectivity (100, 30, 10,
1 %) ``{!lookalike}`` is asked for the top 10 with ``fq={!tag=filter}bucket_l:[0 TO n]`` (the
filter cached, as a shopper's is after the first request), three ways per query, interleaved:
with ``includeTags=filter`` (the scan walks the filter itself, in blocks: what the search service
sends), reading the filter's packed int8 copy when the plugin keeps one (``packed``, the default) and
with ``lookalike.filterVectors=false`` (``in place``, reading the mapped file); and without
``includeTags`` (the filter a separate clause of Lucene's conjunction, as before); each with
``minExactCount=100``, as the search service asks for a top-N set. Solr's QTime
and the client's wall time (p50) are compared with a single-thread numpy scan of the same vectors
(``X @ q`` + top 10, the filtered rows gathered first) timed in the same run, and every answer is
checked against numpy's. Prints one JSON row per cell.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the numpy baseline is one thread
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.solr_bench import SolrPlan, feed, minimal_graph, solr_node, vector_literal  # noqa: E402
from lookalike.settings import Settings  # noqa: E402

SELECTIVITIES = (1.0, 0.3, 0.1, 0.01)
BUCKETS = 1000
# what the search service sends for a top-N set (candidates, 100 by default): Solr may stop
# counting there, and the blocks then skip what cannot enter the top 10
MIN_EXACT_COUNT = 100
# (name, local params, request params): the ways each query is asked, in turn
WAYS = (("packed", " includeTags=filter", {}),
        ("in place", " includeTags=filter", {"lookalike.filterVectors": "false"}),
        ("conj", "", {}))


def numpy_top10(x: np.ndarray, q: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    xs = x if rows is None else x[rows]
    s = xs @ q
    top = np.argpartition(-s, 10)[:10]
    top = top[np.argsort(-s[top])]
    ids = top if rows is None else rows[top]
    return ids, time.perf_counter() - t0


def run(size: int, dims: int, n_queries: int, settings: Settings, client, seed: int = 0) -> list[dict]:
    from benchmarks.api_bench import no_result_cache
    from lookalike.solr import cloud, segments

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(size, dims)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    buckets = rng.integers(0, BUCKETS, size=size)
    # a warm-up set and a measured set per selectivity: a repeated query would be answered by
    # Solr's query result cache
    queries = rng.normal(size=(2 * n_queries * len(SELECTIVITIES), dims)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    name = f"bench_filters_{dims}_{os.getpid()}"
    cloud.create_collection(client, name, dims=dims, shards=1)
    rows = []
    try:
        minimal_graph(client, name, dims)
        no_result_cache(client, name)  # else a way asked second is answered by the first's result
        feed(settings, client.base_url, name, x, buckets, batch_docs=1000)
        segments.force_merge(client, name, 1)
        literals = [vector_literal(q) for q in queries]
        for cell, sel in enumerate(SELECTIVITIES):
            limit = max(1, round(BUCKETS * sel))
            fq = None if sel >= 1.0 else f"bucket_l:[0 TO {limit - 1}]"
            mask_rows = None if fq is None else np.flatnonzero(buckets < limit)
            qtimes: dict[str, list] = {how: [] for how, _, _ in WAYS}
            walls: dict[str, list] = {how: [] for how, _, _ in WAYS}
            np_s, agree, plans = [], 0, set()
            for rep in range(2):  # the first pass warms the filter cache, the copy and the page cache
                first = (2 * cell + rep) * n_queries
                for i in range(first, first + n_queries):
                    ids, secs = numpy_top10(x, queries[i], mask_rows)
                    turn = WAYS[i % len(WAYS):] + WAYS[: i % len(WAYS)]  # none always first
                    for how, lp, extra in turn:
                        params = {"q": "{!lookalike f=vector vector=$vec" + lp + "}", "vec": literals[i],
                                  "rows": 10, "fl": "id,score", "minExactCount": MIN_EXACT_COUNT, **extra}
                        if fq:
                            params["fq"] = "{!tag=filter}" + fq
                        t0 = time.perf_counter()
                        resp = client.select(name, params)
                        wall = (time.perf_counter() - t0) * 1000
                        if rep:
                            qtimes[how].append(resp["responseHeader"]["QTime"])
                            walls[how].append(wall)
                            agree += [int(d["id"]) for d in resp["response"]["docs"]] == ids.tolist()
                            if how == "packed":
                                plans.add(resp.get("lookalike", {}).get("vectors", "in place"))
                    if rep:
                        np_s.append(secs)
            row = {"size": size, "dims": dims, "selectivity": sel,
                   "docs": size if mask_rows is None else int(mask_rows.size),
                   "qtime_p50_ms": float(np.median(qtimes["packed"])),
                   "qtime_p50_in_place_ms": float(np.median(qtimes["in place"])),
                   "qtime_p50_conjunction_ms": float(np.median(qtimes["conj"])),
                   **{f"wall_p50_{how.replace(' ', '_')}_ms": round(float(np.median(walls[how])), 2)
                      for how, _, _ in WAYS},
                   "packed_plan": sorted(plans),
                   "numpy_p50_ms": round(float(np.median(np_s)) * 1000, 2),
                   "same_top10": f"{agree}/{n_queries * len(WAYS)}"}
            row["ratio_to_numpy"] = round(row["qtime_p50_ms"] / max(row["numpy_p50_ms"], 1e-9), 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        cloud.delete_collection(client, name)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--dims", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--port", type=int, default=8991)
    ap.add_argument("--heap", default="2g")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    plan = SolrPlan(cells=(), exact_cells=(), sweep_cell=(0, 0), port=args.port, heap=args.heap)
    with solr_node(settings, plan) as (client, _state):
        rows = []
        for dims in args.dims:
            rows += run(args.size, dims, args.queries, settings, client)
        unfiltered = {r["dims"]: r["qtime_p50_ms"] for r in rows if r["selectivity"] >= 1.0}
        for r in rows:
            r["ratio_to_unfiltered"] = round(r["qtime_p50_ms"] / max(unfiltered[r["dims"]], 1e-9), 2)
        print(json.dumps({"summary": rows}), flush=True)


if __name__ == "__main__":
    main()

"""Quantized HNSW (int7, int4) against float32 on the same vectors, in one interleaved run.

``index_size(client, collection)`` is the piece other benchmarks call: bytes on disk of every
shard's leader core, by file extension (``vec`` float32 vectors, ``veq`` quantized copies, ``vex``
the graph, ...), and segments. ``measure`` sends the same kNN queries to several collections in
turn (query i to each collection, the order rotated per query), so the load of the machine falls
on every variant alike, and returns recall@10 against exact, p50/p99 wall and QTime per
collection.

    python -m benchmarks.quantization [--docs 100000] [--width 256] [--port 41017] [--queries 300]

starts its own one-node Solr under ``LOOKALIKE_DATA_DIR`` (ZooKeeper on port + 1000), builds one collection per
quantization (none, int7, int4) from the benchmark dataset (benchmarks/data.py), merges each to
one segment, and prints one JSON object (also written to benchmarks/results/quantization.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from benchmarks.metrics import exact_topk, latency_stats, recall_at_k
from benchmarks.scale_bench import as_indexed
from lookalike.connection import SolrClient
from lookalike.errors import NotFound
from lookalike.solr import cloud, segments
from lookalike.solr_syntax import local_params, vector_literal
from query.build import HNSW_MIN_TOP_K

log = logging.getLogger(__name__)

K = 10
HNSW_TOP_K = HNSW_MIN_TOP_K  # what the API's approx path asks HNSW for
QUANTIZATIONS = ("none", "int7", "int4")
HNSW_WORKING_SET = {"none": ("vex", "vec"), "int7": ("vex", "veq"), "int4": ("vex", "veq")}


def _leader_cores(client: SolrClient, collection: str) -> list[tuple[str, str]]:
    status = client.collections_api("CLUSTERSTATUS", collection=collection)
    coll = status.get("cluster", {}).get("collections", {}).get(collection)
    if coll is None:
        raise NotFound(f"collection {collection!r} does not exist")
    out = []
    for _shard, info in sorted(coll.get("shards", {}).items()):
        replicas = list(info.get("replicas", {}).values())
        leader = next((r for r in replicas if r.get("leader") == "true"), replicas[0])
        out.append((leader["base_url"], leader["core"]))
    return out


def index_size(client: SolrClient, collection: str) -> dict:
    """Bytes on disk (one copy of each shard: its leader) by file extension, total MB, segments.

    Read from each core's replication handler (``filelist`` of its current commit), so a compound
    file (``cfs``) is counted as one; a collection merged to large segments has none.
    """
    by_ext: dict[str, int] = {}
    segments = 0
    for base_url, core in _leader_cores(client, collection):
        with SolrClient(client.settings, base_url, failover=False) as one:
            generation = one.get(f"{core}/replication", {"command": "indexversion"})["generation"]
            files = one.get(f"{core}/replication", {"command": "filelist", "generation": generation})["filelist"]
            index = one.get(f"{core}/admin/luke", {"numTerms": 0, "show": "index"}).get("index", {})
        segments += int(index.get("segmentCount", 0))
        for f in files:
            ext = f["name"].rsplit(".", 1)[-1] if "." in f["name"] else f["name"]
            by_ext[ext] = by_ext.get(ext, 0) + int(f["size"])
    total = sum(by_ext.values())
    return {"bytes": total, "mb": round(total / 2**20, 1), "segments": segments,
            "bytes_by_extension": dict(sorted(by_ext.items()))}


def hnsw_working_set_mb(size: dict, quantization: str) -> float:
    """What an HNSW search reads: the graph and the vectors it compares (float or quantized)."""
    return round(sum(size["bytes_by_extension"].get(e, 0) for e in HNSW_WORKING_SET[quantization]) / 2**20, 1)


def _params(kind: str, literal: str, top_k: int) -> dict:
    """``knn``: Solr's ``{!knn}`` alone (on a quantized field the quantized scores rank the top 10);
    ``approx``: the plugin's ``{!lookalike mode=approx}``, as the API sends it (on a quantized field
    the HNSW candidates rescored with the float32 vectors)."""
    if kind == "knn":
        q = local_params("knn", f="vector", topK=top_k, v="$vec")
    else:
        q = local_params("lookalike", f="vector", vector="$vec", mode="approx", topK=top_k)
    return {"q": q, "vec": literal, "rows": K, "fl": "id"}


def _knn(client: SolrClient, collection: str, literal: str, top_k: int,
         kind: str = "knn") -> tuple[list[int], float, float]:
    params = _params(kind, literal, top_k)
    t0 = time.perf_counter()
    resp = client.select(collection, params)
    wall = time.perf_counter() - t0
    ids = [int(d["id"]) for d in resp["response"]["docs"]]
    return ids + [-1] * (K - len(ids)), wall, resp.get("responseHeader", {}).get("QTime", float("nan")) / 1000.0


def measure(client: SolrClient, collections: dict[str, str], queries: np.ndarray, truth: np.ndarray, *,
            top_k: int = HNSW_TOP_K, warmup: int = 30, kinds: tuple[str, ...] = ("knn", "approx")) -> dict[str, dict]:
    """recall@10 against ``truth`` and latency of each kind of HNSW request (:func:`_params`) on each
    collection (label -> name), keyed ``label/kind``, the queries interleaved across all of them."""
    literals = [vector_literal(q) for q in queries]
    runs = {f"{label}/{kind}": (name, kind) for label, name in collections.items() for kind in kinds}
    labels = list(runs)
    for i in range(min(warmup, len(literals))):
        for label in labels:
            _knn(client, runs[label][0], literals[i], top_k, runs[label][1])
    found: dict[str, list[list[int]]] = {lb: [] for lb in labels}
    wall: dict[str, list[float]] = {lb: [] for lb in labels}
    qtime: dict[str, list[float]] = {lb: [] for lb in labels}
    for i, literal in enumerate(literals):
        for j in range(len(labels)):
            label = labels[(i + j) % len(labels)]
            ids, w, qt = _knn(client, runs[label][0], literal, top_k, runs[label][1])
            found[label].append(ids)
            wall[label].append(w)
            qtime[label].append(qt)
    out = {}
    for label in labels:
        lat, qt = latency_stats(wall[label]), latency_stats(qtime[label])
        out[label] = {"recall10": round(recall_at_k(np.asarray(found[label]), truth[: len(literals)]), 4),
                      "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
                      "qtime_p50_ms": qt["p50_ms"], "qtime_p99_ms": qt["p99_ms"], "queries": len(literals)}
    return out


def main() -> None:  # pragma: no cover - a benchmark run, minutes long
    import os

    from benchmarks.data import DataSpec, build
    from benchmarks.solr_bench import SolrPlan, _node_pid, _rss_mb, feed, settle, solr_node
    from lookalike.settings import Settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--port", type=int, default=41017)
    p.add_argument("--heap", default="2g")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quantization.json")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings()
    spec = DataSpec(n_docs=a.docs, sizes=(a.docs,), n_queries=a.queries, widths=(a.width,),
                    pca_fit_docs=min(50_000, a.docs))
    ds = build(spec, settings.data_dir)
    vectors, queries = as_indexed(ds.vectors(a.width)), as_indexed(ds.queries(a.width)[: a.queries])
    truth, _ = exact_topk(queries, np.asarray(vectors), K)
    plan = SolrPlan(cells=(), sweep_cell=(a.docs, a.width), port=a.port, heap=a.heap)
    result: dict = {"docs": a.docs, "width": a.width, "queries": len(queries), "load_before": os.getloadavg()}
    with solr_node(settings, plan) as (client, _st):
        pid = _node_pid(settings, a.port)
        names = {}
        for q in QUANTIZATIONS:
            name = f"bench_quant_{q}_{a.docs}_{a.width}"
            if name in cloud.list_collections(client):
                cloud.delete_collection(client, name)
            cloud.create_collection(client, name, dims=a.width, quantization=q)
            t0 = time.perf_counter()
            feed(settings, client.base_url, name, vectors, ds.buckets(), batch_docs=1000)
            t_feed = time.perf_counter() - t0
            segments.force_merge(client, name, 1)
            settle(pid)
            size = index_size(client, name)
            names[q] = name
            result[q] = {"index": size, "index_mb": size["mb"], "hnsw_working_set_mb": hnsw_working_set_mb(size, q),
                         "feed_s": round(t_feed, 1), "feed_merge_s": round(time.perf_counter() - t0, 1)}
            log.info("%s: %s", q, result[q])
        settle(pid)
        result["search"] = measure(client, names, queries, truth)
        result["jvm_rss_mb"] = round(_rss_mb(pid), 1)
        result["load_after"] = os.getloadavg()
        for name in names.values():
            cloud.delete_collection(client, name)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

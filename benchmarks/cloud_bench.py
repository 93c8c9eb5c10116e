"""Section 'cloud': a catalog on a three-node cloud, through the real write path and the real API.

Issue 14's measure of the cloud at size: the launcher's three-node cloud (three JVMs, the
embedded three-server ZooKeeper ensemble), one product collection of ``shards`` x ``replicas``
created as the indexer creates it (``router.field=_route_key``, the route processor), written by
the indexer's write stage (:func:`indexer.pipeline.write_docs`: batches in flight, retries),
force-merged as a bulk reindex does, then asked through ``lookalike serve`` (pointed at node 1;
the client learns the other nodes) for ``/api/products/{id}/similar?k=10`` in modes
exact/approx/auto, unfiltered and under 10% and 1% filters.

Per case: the API's p50/p99 and, against a numpy scan of the same vectors (the one-process
answer), whether exact answers are the same products with the same scores and the recall@10 of
approximate ones. The same exact and approximate requests are also asked of a one-shard,
one-replica collection of the same documents on the same cloud (the one-node answer), and the
three-shard answers are compared with it. Per node: the JVM's resident memory and the bytes
its cores hold on disk. Throughput: 1, 2, 4 and 8 concurrent clients for a fixed time.

Documents are the benchmark's synthetic vectors (:mod:`benchmarks.data`) with a colour (10
values, the 10% filter), a shade (100 values, the 1% filter), stock, and a design ``group`` of
the data's own design ids, so a design's variants are routed to one shard.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.metrics import latency_stats
from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)

K = 10
COLLECTION = "bench_cloud"
ONE_SHARD = "bench_cloud_one"
CASES: tuple[tuple[str, str | None, float], ...] = (("none", None, 1.0), ("color:c3", "color:c3", 0.1),
                                                     ("shade:s7", "shade:s7", 0.01))
MODES = ("exact", "approx", "auto")
CLIENTS = (1, 2, 4, 8)


@dataclass(frozen=True)
class CloudPlan:
    size: int = 100_000
    width: int = 256
    nodes: int = 3
    shards: int = 3
    replicas: int = 2
    queries: int = 200  # product ids asked per (filter, mode)
    warmup: int = 10
    port: int = 47983
    api_port: int = 47000
    heap: str = "2g"
    one_shard: bool = True  # also index a one-shard copy and compare answers with it
    throughput_s: float = 10.0


def default_plan(*, quick: bool = False, large: bool = False) -> CloudPlan:
    if quick:
        return CloudPlan(size=20_000, queries=40, warmup=5, heap="1g", throughput_s=3.0)
    if large:
        return CloudPlan(size=1_000_000, one_shard=False)  # the one-shard copy would add half an hour here
    return CloudPlan()


def documents(vectors: np.ndarray, buckets: np.ndarray, groups: np.ndarray, lo: int, hi: int):
    """Products ``lo..hi-1`` as the write stage gets them (numpy vectors, encoded by the writer)."""
    for i in range(lo, hi):
        b = int(buckets[i])
        yield {"id": str(i), "color_s": f"c{b % 10}", "shade_s": f"s{b % 100}", "in_stock": i % 5 != 0,
               "group": f"d{int(groups[i])}", "vector": np.asarray(vectors[i], dtype=np.float32)}


def write(client: SolrClient, collection: str, docs, *, max_segments: int = 1) -> dict[str, float]:
    """The indexer's write stage over ``docs`` (an iterable, read lazily batch by batch) and the
    force-merge a bulk reindex does after it (auto-commit off meanwhile, as the job does), timed. Shared with :mod:`benchmarks.scale_bench`."""
    from indexer.pipeline import write_docs
    from lookalike.solr import segments

    segments.bulk_load_mode(client, collection, True, graph_at_merge=True)  # as the reindex job writes a new collection
    t0 = time.perf_counter()
    written = write_docs(client, collection, docs)
    write_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    merged = segments.force_merge(client, collection, max_segments)
    merge_s = time.perf_counter() - t1
    segments.bulk_load_mode(client, collection, False)
    return {"docs": written, "write_s": round(write_s, 1), "docs_per_s": round(written / write_s, 1),
            "merge_s": round(merge_s, 1), "segments": int(sum(merged.values()))}


def truth(vectors: np.ndarray, ids: list[int], mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids and scores per query product by a numpy scan (itself left out)."""
    q = np.asarray(vectors[ids], dtype=np.float32)
    chunk = 100_000
    all_s = np.full((len(ids), 0), -np.inf, np.float32)
    all_i = np.zeros((len(ids), 0), np.int64)
    for lo in range(0, vectors.shape[0], chunk):
        hi = min(lo + chunk, vectors.shape[0])
        s = q @ np.asarray(vectors[lo:hi], dtype=np.float32).T
        if mask is not None:
            s[:, ~mask[lo:hi]] = -np.inf
        for r, pid in enumerate(ids):
            if lo <= pid < hi:
                s[r, pid - lo] = -np.inf
        top = np.argpartition(-s, K, axis=1)[:, :K]
        all_s = np.concatenate([all_s, np.take_along_axis(s, top, 1)], axis=1)
        all_i = np.concatenate([all_i, top + lo], axis=1)
        keep = np.argsort(-all_s, axis=1)[:, :K]
        all_s, all_i = np.take_along_axis(all_s, keep, 1), np.take_along_axis(all_i, keep, 1)
    return all_i, all_s


def ask(http, api_url: str, product_id: str, filt: str | None, mode: str, variants: str = "include") -> dict:
    params = {"k": K, "mode": mode, "variants": variants, **({"filter": filt} if filt else {})}
    resp = http.get(f"{api_url}/api/products/{product_id}/similar", params=params, timeout=120)
    if resp.status_code != 200:
        raise RuntimeError(f"the API answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def node_memory(settings: Settings, ports: list[int]) -> list[dict[str, Any]]:
    """Per node: resident memory of its JVM and the bytes of its cores on disk."""
    from benchmarks.solr_bench import _node_pid, _rss_mb
    from lookalike.solr import node

    out = []
    for port in ports:
        with SolrClient(settings, node.base_url(port), role="admin", failover=False) as c:
            cores = c.get("admin/cores", {"action": "STATUS"}).get("status", {})
        by = {}
        for name, core in cores.items():
            coll = name.split("_shard")[0]
            by[coll] = by.get(coll, 0) + core.get("index", {}).get("sizeInBytes", 0)
        out.append({"port": port, "rss_mb": round(_rss_mb(_node_pid(settings, port)), 0),
                    "index_mb": {k: round(v / 2**20, 1) for k, v in sorted(by.items())}})
    return out


def throughput(api_url: str, ids: list[str], clients: int, seconds: float) -> dict[str, float]:
    """Requests/s and latency with ``clients`` threads asking auto-mode similar-by-id."""
    import requests

    stop = time.monotonic() + seconds
    lat: list[float] = []

    def worker(w: int) -> int:
        n = 0
        with requests.Session() as http:
            while time.monotonic() < stop:
                pid = ids[(w * 7919 + n) % len(ids)]
                t0 = time.perf_counter()
                ask(http, api_url, pid, None, "auto")
                lat.append(time.perf_counter() - t0)
                n += 1
        return n

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(worker, range(clients)))
    wall = time.perf_counter() - t0
    s = latency_stats(np.asarray(lat))
    return {"clients": clients, "rps": round(total / wall, 1), "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"]}


def run(settings: Settings, plan: CloudPlan, vectors: np.ndarray, buckets: np.ndarray, groups: np.ndarray) -> list[dict]:
    """Start the cloud, write, merge, start the API, measure; stop everything."""
    import requests

    from benchmarks.api_bench import no_result_cache, start_api, stop_api
    from benchmarks.solr_bench import settle, _node_pid
    from lookalike.solr import cloud, cluster, node

    vectors, buckets, groups = vectors[: plan.size], buckets[: plan.size], groups[: plan.size]
    csettings = settings.model_copy(update={"data_dir": settings.data_dir / "cloud-bench",
                                            "solr_url": node.base_url(plan.port), "replicas": plan.replicas})
    csettings.data_dir.mkdir(parents=True, exist_ok=True)
    ports = cluster._ports(plan.port, plan.nodes)
    rows: list[dict] = []
    t_start = time.perf_counter()
    cluster.start(csettings, nodes=plan.nodes, port=plan.port, heap=plan.heap)
    log.info("cloud: %d nodes up in %.1f s", plan.nodes, time.perf_counter() - t_start)
    try:
        admin = SolrClient(csettings, role="admin")
        writer = SolrClient(csettings, role="indexer")
        targets = [(COLLECTION, plan.shards, plan.replicas)] + ([(ONE_SHARD, 1, 1)] if plan.one_shard else [])
        writes = {}
        for name, shards, replicas in targets:
            if name in cloud.list_collections(admin):
                cloud.delete_collection(admin, name)
            cloud.create_collection(admin, name, plan.width, shards, replicas)
            no_result_cache(admin, name)
            writes[name] = write(writer, name, documents(vectors, buckets, groups, 0, plan.size))
            log.info("cloud: %s (%d x %d) %s", name, shards, replicas, writes[name])
        for port in ports:
            settle(_node_pid(csettings, port), timeout_s=600)
        memory = node_memory(csettings, ports)
        rows.append({"section": "cloud_write", "size": plan.size, "dims": plan.width, "nodes": plan.nodes,
                     "shards": plan.shards, "replicas": plan.replicas, "heap": plan.heap,
                     **writes[COLLECTION], **({"one_shard": writes[ONE_SHARD]} if plan.one_shard else {}),
                     "memory": memory})
        cloud.create_alias(admin, csettings.alias, COLLECTION)
        if plan.one_shard:
            cloud.create_alias(admin, "bench_cloud_one_alias", ONE_SHARD)
        rng = np.random.default_rng(20261202)
        qids = [int(i) for i in rng.choice(plan.size, plan.queries + plan.warmup, replace=False)]
        procs = [start_api(csettings, csettings.solr_url, plan.api_port, csettings.data_dir / "cloud-serve.log",
                           timeout_s=180)]
        api_url = f"http://127.0.0.1:{plan.api_port}"
        one_url = None
        if plan.one_shard:  # the same API over the one-shard copy
            one = csettings.model_copy(update={"alias": "bench_cloud_one_alias"})
            procs.append(start_api(one, one.solr_url, plan.api_port + 1, one.data_dir / "cloud-serve-one.log",
                                   timeout_s=180))
            one_url = f"http://127.0.0.1:{plan.api_port + 1}"
        try:
            with requests.Session() as http:
                for label, filt, sel in CASES:
                    mask = None
                    if filt:
                        field, value = filt.split(":")
                        b = np.asarray(buckets)
                        mask = (b % 10 == int(value[1:])) if field == "color" else (b % 100 == int(value[1:]))
                    t_ids, t_scores = truth(vectors, qids[plan.warmup:], mask)
                    for mode in MODES:
                        rows.append(measure(http, api_url, one_url, qids, plan, label, filt, sel, mode, t_ids,
                                            t_scores))
                        log.info("cloud %s %s: %s", label, mode, {k: v for k, v in rows[-1].items()
                                                                  if k.endswith("ms") or k.startswith("recall")})
                rows.append(collapse_check(http, api_url, qids[plan.warmup:], groups))
                log.info("cloud collapse: %s", rows[-1])
                ids = [str(i) for i in qids]
                for clients in CLIENTS:
                    rows.append({"section": "cloud_throughput", "size": plan.size,
                                 **throughput(api_url, ids, clients, plan.throughput_s)})
                    log.info("cloud throughput: %s", rows[-1])
        finally:
            for proc in procs:
                stop_api(proc)
    finally:
        cluster.stop(csettings)
    return rows


def measure(http, api_url: str, one_url: str | None, qids: list[int], plan: CloudPlan, label: str, filt: str | None, sel: float,
            mode: str, t_ids: np.ndarray, t_scores: np.ndarray) -> dict[str, Any]:
    """One case: API latency on the sharded alias; answers against numpy and the one-shard copy."""
    lat, one_lat, recall, same_exact, score_err, agree_one, chose = [], [], [], [], [], [], set()
    for n, pid in enumerate(qids):
        t0 = time.perf_counter()
        body = ask(http, api_url, str(pid), filt, mode)
        ms = (time.perf_counter() - t0) * 1000.0
        if n < plan.warmup:
            continue
        r = n - plan.warmup
        got = [int(p["id"]) for p in body["products"]]
        want = [int(i) for i, score in zip(t_ids[r], t_scores[r]) if np.isfinite(score)]  # filtered-out slots
        lat.append(ms)
        chose.add(body["mode"])
        recall.append(len(set(got) & set(want)) / max(1, len(want)))
        if mode == "exact":
            same_exact.append(got == want)
            score_err.extend(abs(float(p["similarity"]) - float(s)) for p, s in zip(body["products"], t_scores[r]))
        if one_url:  # the one-shard copy right after, so both meet the same moment of the machine
            t0 = time.perf_counter()
            other = ask(http, one_url, str(pid), filt, mode)
            one_lat.append((time.perf_counter() - t0) * 1000.0)
            agree_one.append(got == [int(p["id"]) for p in other["products"]])
    s = latency_stats(np.asarray(lat) / 1000.0)
    row = {"section": "cloud", "size": plan.size, "filter": label, "selectivity": sel, "mode": mode,
           "chose": "/".join(sorted(chose)), "queries": len(lat), "api_p50_ms": s["p50_ms"], "api_p99_ms": s["p99_ms"],
           "recall_at_10": round(float(np.mean(recall)), 4)}
    if same_exact:
        row["exact_equal_share"] = round(float(np.mean(same_exact)), 4)
        row["max_score_error"] = float(max(score_err) if score_err else 0.0)
    if agree_one:
        o = latency_stats(np.asarray(one_lat) / 1000.0)
        row.update({"equal_to_one_shard": round(float(np.mean(agree_one)), 4), "one_p50_ms": o["p50_ms"],
                    "one_p99_ms": o["p99_ms"]})
    return row


def collapse_check(http, api_url: str, qids: list[int], groups: np.ndarray) -> dict[str, Any]:
    """``variants=collapse`` on the sharded alias: answers holding two products of one design."""
    dup = 0
    for pid in qids:
        body = ask(http, api_url, str(pid), None, "auto", variants="collapse")
        seen = [int(groups[int(p["id"])]) for p in body["products"]]
        dup += len(seen) != len(set(seen))
    return {"section": "cloud_collapse", "queries": len(qids), "answers_with_a_repeated_design": dup}

"""Section 'scale': similar-by-id through the real API on one node at 500k (1M with ``--large``).

Issue 15 item 8. One Solr node of the launcher (``solr_bench.solr_node``) holds one product
collection per vector format (``plan.variants``: ``none`` is float32 HNSW; quantized formats
are passed to ``create_collection`` as ``quantization=``), made as the indexer makes it
(``cloud.create_collection``, so the schema's vector type is ``cloud.vector_field_type``),
written by the indexer's write stage and force-merged to ``merge_segments`` as a bulk reindex
does (:func:`benchmarks.cloud_bench.write`). Vectors are the suite's synthetic 256-d ones
(:mod:`benchmarks.data`, cached in the data dir): plain PCA, on PCA's axes there, and turned
here by the reducer's balancing rotation (:func:`indexer.pca.balancing_rotation`) as
``lookalike index`` writes a plain PCA (no whitening): no dot product changes, so the float32
rows and every baseline are as on PCA's axes, but scalar quantization sees what it sees in such
a collection.

Every product carries ``sel_ss``, the selectivity tiers its uniform ``bucket`` falls in
(:func:`tier_values`): ``sel:s100`` passes 100% of products, ``s10`` 10%, ``s1`` 1%, ``s01``
0.1%; the unfiltered case is asked too. The real app runs in a subprocess (``lookalike serve``)
and one client asks ``GET /api/products/{id}/similar?k=10`` in modes auto, approx and exact.
Interleaved per product id with those three, the same query goes straight to stock Solr
``{!knn}`` (the product's vector, topK as our approx mode sends), to a numpy scan of the
filter's products (one BLAS thread) and to FAISS ``IndexHNSWFlat`` in this process (Solr's M
and beam width, efSearch = our topK); the order of the four Solr-side methods turns by one per
id, and numpy and FAISS run in a pass of their own after them. Recall@10 of every answer is against a numpy exact
top-10 of the same vectors under the same filter (the product itself left out, as the API
does). Per request the API's answer says Solr's QTime, the number of Solr requests, the mode
chosen and why. Where auto falls below the recall aim, auto is asked again with larger
``candidates`` (the plugin's HNSW ``topK``) to find which setting reaches it, and at what cost.
Then the crossover (:func:`crossover`: exact against HNSW in the plugin under range filters of
0.5% to 50%, where ``mode=auto``'s default threshold should sit), throughput with 1, 2, 4 and 8 concurrent clients, the index on disk, its segments and the
JVM's resident memory. The run records where its minutes went.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import numpy as np

from benchmarks.data import bucket_limit
from benchmarks.metrics import latency_stats
from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)

K = 10
TIER_FIELD = "sel_ss"  # the API's attribute ``sel``
TIERS: tuple[tuple[str, float], ...] = (("s100", 1.0), ("s10", 0.1), ("s1", 0.01), ("s01", 0.001))
MODES = ("auto", "approx", "exact")
CLIENTS = (1, 2, 4, 8)
VARIANTS = ("none", "int7", "int4")  # float32, and Lucene's scalar-quantized HNSW (the plugin's codec)
RECALL_AIM = 0.99
P50_AIM_MS, P99_AIM_MS = 8.0, 25.0
TOPK_SWEEP = (600, 1000)  # candidates (= the plugin's HNSW topK) tried where auto misses the recall aim
# filter selectivities of the crossover sweep (a range on ``bucket_i``): exact against HNSW in the plugin
CROSSOVER = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
CROSSOVER_QUERIES = 40
CROSSOVER_CANDIDATES = 100  # the API's default similar set: what it sends as minExactCount


@dataclass(frozen=True)
class ScalePlan:
    size: int = 500_000
    width: int = 256
    variants: tuple[str, ...] = VARIANTS
    queries: int = 200  # product ids asked per case
    warmup: int = 10
    solr_port: int = 48983
    api_port: int = 48000
    heap: str = "2g"
    merge_segments: int = 1
    throughput_s: float = 10.0


def default_plan(*, quick: bool = False, large: bool = False, **kw: Any) -> ScalePlan:
    if quick:
        plan = ScalePlan(size=20_000, queries=40, warmup=5, heap="1g", throughput_s=3.0)
    elif large:
        plan = ScalePlan(size=1_000_000)
    else:
        plan = ScalePlan()
    return replace(plan, **kw)


# -- pure helpers ---------------------------------------------------------------------------------


def tier_values(bucket: int) -> list[str]:
    """The ``sel_ss`` values of a product with this bucket: every tier whose filter it passes."""
    return [name for name, sel in TIERS if bucket < bucket_limit(sel)]


def tier_mask(buckets: np.ndarray, tier: str | None) -> np.ndarray | None:
    """Which products ``sel:<tier>`` lets through (None: no filter)."""
    if tier is None:
        return None
    return np.asarray(buckets) < bucket_limit(dict(TIERS)[tier])


def cases() -> list[tuple[str, str | None, float]]:
    """(label, API filter, selectivity): unfiltered, then one filter per tier."""
    return [("none", None, 1.0)] + [(f"sel:{name}", name, sel) for name, sel in TIERS]


def recall(got: list[int], want_ids: np.ndarray, want_scores: np.ndarray) -> float:
    """Share of the true top-k (the slots a filter left empty, score -inf, not counted) in ``got``."""
    want = {int(i) for i, s in zip(want_ids, want_scores) if np.isfinite(s)}
    return len(want & set(got)) / len(want) if want else float("nan")


def others(ids, pid: int, k: int = K) -> list[int]:
    """The first ``k`` ids other than the query product's own (a search by its vector finds it)."""
    return [int(i) for i in ids if int(i) != pid and int(i) >= 0][:k]


def documents(vectors: np.ndarray, buckets: np.ndarray, groups: np.ndarray, lo: int, hi: int):
    """Products ``lo..hi-1`` as the write stage gets them."""
    for i in range(lo, hi):
        yield {"id": str(i), "sel_ss": tier_values(int(buckets[i])), "bucket_i": int(buckets[i]), "in_stock": True,
               "group": f"d{int(groups[i])}", "vector": np.asarray(vectors[i], dtype=np.float32)}


def summary(ms: list[float]) -> dict[str, float]:
    s = latency_stats(np.asarray(ms, dtype=float) / 1000.0)
    return {"p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"]}


# -- the pieces of one run ------------------------------------------------------------------------


def create_variant(client: SolrClient, name: str, dims: int, variant: str) -> None:
    """A product collection whose vectors are stored in ``variant``'s format, without Solr's
    queryResultCache: the modes asked in turn for one product would otherwise answer each other
    from it (approx after an auto that chose HNSW is the same Lucene query), and every request
    here is to cost what a product's first request costs. The filterCache stays (auto counts
    from it, as it does in production)."""
    from lookalike.solr import cloud

    cloud.create_collection(client, name, dims, quantization=variant)
    client.post(f"{name}/config", json_body={"set-property": {"query.queryResultCache.size": 0}})


class InProcess:
    """numpy exact (one BLAS thread) and FAISS HNSW over the same vectors, in this process."""

    def __init__(self, vectors: np.ndarray, buckets: np.ndarray, ef: int):
        from benchmarks.methods import FaissHNSW
        from lookalike.solr.cloud import HNSW_BEAM_WIDTH, HNSW_MAX_CONNECTIONS

        self.vectors, self.buckets = vectors, buckets
        t0 = time.perf_counter()
        self.faiss = FaissHNSW(M=HNSW_MAX_CONNECTIONS, efConstruction=HNSW_BEAM_WIDTH, efSearch=ef)
        self.faiss.build(vectors)
        self.build_s = time.perf_counter() - t0
        self.ef = ef

    def case(self, mask: np.ndarray | None):
        """Per-case state: the filter's rows for numpy, a FAISS bitmap selector."""
        import faiss

        params = faiss.SearchParametersHNSW()
        params.efSearch = self.ef
        sub_ids = None if mask is None else np.flatnonzero(mask)
        sub = self.vectors if mask is None else np.ascontiguousarray(self.vectors[sub_ids])
        bits = None
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        return sub, sub_ids, params, bits  # bits: the selector points into it, keep it alive

    def numpy_top(self, q: np.ndarray, pid: int, state) -> list[int]:
        sub, sub_ids = state[0], state[1]
        s = sub @ q
        kk = min(K + 1, s.shape[0])
        top = np.argpartition(-s, kk - 1)[:kk]
        top = top[np.argsort(-s[top], kind="stable")]
        return others(top if sub_ids is None else sub_ids[top], pid)

    def faiss_top(self, q: np.ndarray, pid: int, state) -> list[int]:
        import faiss

        faiss.omp_set_num_threads(1)
        return others(self.faiss.index.search(q[None, :], K + 1, params=state[2])[1][0], pid)


def knn_params(vector: np.ndarray, top_k: int, tier: str | None) -> dict[str, Any]:
    """Stock Solr ``{!knn}`` for one vector; a filter as a plain ``fq`` (Solr pre-filters with it)."""
    from lookalike.solr_syntax import any_of, local_params, vector_literal

    out = {"q": local_params("knn", f="vector", topK=top_k, v="$vec"), "vec": vector_literal(vector.tolist()),
           "fl": "id", "rows": K + 1}
    if tier:
        out["fq"] = any_of(TIER_FIELD, [tier])
    return out


def api_get(http, api_url: str, pid: int, tier: str | None, mode: str, candidates: int | None = None) -> dict:
    """One similar-by-id through the API, with a keep-alive urllib3 pool and orjson (as the api
    section's client; ``requests`` alone added about a millisecond per call)."""
    import orjson

    params: dict[str, Any] = {"k": K, "mode": mode}
    if tier:
        params["filter"] = f"sel:{tier}"
    if candidates:
        params["candidates"] = candidates
    resp = http.request("GET", f"{api_url}/api/products/{pid}/similar?{urlencode(params)}", timeout=300)
    if resp.status != 200:
        raise RuntimeError(f"the API answered {resp.status}: {resp.data[:300]!r}")
    return orjson.loads(resp.data)


def measure_case(http, api_url: str, direct: SolrClient, collection: str, inproc: InProcess, qids: list[int],
                 tier: str | None, truth: tuple[np.ndarray, np.ndarray], plan: ScalePlan, top_k: int) -> list[dict]:
    """Per product id, interleaved: the API in each mode and stock {!knn} (the order turning by
    one per id); then, in a pass of their own, numpy and FAISS."""
    from threadpoolctl import threadpool_limits

    mask = tier_mask(inproc.buckets, tier)
    state = inproc.case(mask)
    acc: dict[str, dict[str, list]] = collections.defaultdict(lambda: collections.defaultdict(list))

    def keep(method: str, n: int, ms: float, got: list[int], **extra: Any) -> None:
        if n < plan.warmup:
            return
        r = n - plan.warmup
        a = acc[method]
        a["ms"].append(ms)
        a["recall"].append(recall(got, truth[0][r], truth[1][r]))
        for key, value in extra.items():
            a[key].append(value)

    def ask_api(n: int, pid: int, mode: str) -> None:
        t0 = time.perf_counter()
        body = api_get(http, api_url, pid, tier, mode)
        ms = (time.perf_counter() - t0) * 1000.0
        keep(f"api {mode}", n, ms, [int(p["id"]) for p in body["products"]], qtime=body["qtime_ms"],
             requests=body["solr_requests"], chose=body["mode"], reason=body["mode_reason"])

    def ask_solr(n: int, pid: int) -> None:
        t0 = time.perf_counter()
        resp = direct.select(collection, knn_params(inproc.vectors[pid], top_k, tier))
        ms = (time.perf_counter() - t0) * 1000.0
        keep("solr knn", n, ms, others([d["id"] for d in resp["response"]["docs"]], pid),
             qtime=resp["responseHeader"]["QTime"], requests=1)

    def ask_numpy(n: int, pid: int) -> None:
        t0 = time.perf_counter()
        got = inproc.numpy_top(inproc.vectors[pid], pid, state)
        keep("numpy exact", n, (time.perf_counter() - t0) * 1000.0, got)

    def ask_faiss(n: int, pid: int) -> None:
        t0 = time.perf_counter()
        got = inproc.faiss_top(inproc.vectors[pid], pid, state)
        keep("faiss hnsw", n, (time.perf_counter() - t0) * 1000.0, got)

    # Two passes. First the four methods that run in Solr, interleaved per product id with the
    # order turning by one per id, so none always runs first or always second on a product.
    # Then numpy and FAISS: run between them, a numpy pass over every vector (1 GB at 1M)
    # emptied the CPU caches Solr and the API process ran in, and the API rows measured that
    # (at 1M, auto's p50 was 10.7 ms there and 4.6 ms in the sweep below, asked with nothing
    # in between).
    solr_side = [*(lambda n, pid, m=m: ask_api(n, pid, m) for m in MODES), ask_solr]
    with threadpool_limits(1):
        for n, pid in enumerate(qids):
            turn = n % len(solr_side)
            for method in solr_side[turn:] + solr_side[:turn]:
                method(n, pid)
        for n, pid in enumerate(qids):
            ask_numpy(n, pid)
            ask_faiss(n, pid)
    return [case_row(method, a) for method, a in acc.items()]


def crossover(direct: SolrClient, collection: str, qids: list[int], plan: ScalePlan, top_k: int) -> list[dict]:
    """Where the exact scan stops being faster than HNSW on this shard: per filter selectivity
    (``bucket_i`` below a limit, any fraction), the plugin asked straight in ``mode=exact`` and
    ``mode=approx`` (HNSW topK as the API sends) for the same product ids, alternating which goes
    first, each with ``minExactCount`` as the API sends for its top-N set (so the exact scan may
    skip, and reads a hot filter's packed copy). Also what ``mode=auto`` chose there with the
    plugin's default threshold."""
    from lookalike.solr_syntax import local_params

    ids = qids[: CROSSOVER_QUERIES + plan.warmup]
    rows = []
    for sel in CROSSOVER:
        fq = f"{{!tag=filter}}bucket_i:[0 TO {bucket_limit(sel) - 1}]"  # tagged, as the API sends it
        acc: dict[str, dict[str, list]] = collections.defaultdict(lambda: collections.defaultdict(list))
        for n, pid in enumerate(ids):
            modes = ("exact", "approx", "auto") if n % 2 else ("approx", "exact", "auto")
            for mode in modes:
                q = local_params("lookalike", f="vector", like=str(pid), mode=mode, topK=top_k, includeTags="filter",
                                 excludeExamples="true")
                t0 = time.perf_counter()
                resp = direct.select(collection, {"q": q, "fq": fq, "fl": "id", "rows": K,
                                                  "minExactCount": CROSSOVER_CANDIDATES})
                ms = (time.perf_counter() - t0) * 1000.0
                if n >= plan.warmup:
                    acc[mode]["ms"].append(ms)
                    acc[mode]["qtime"].append(resp["responseHeader"]["QTime"])
                    acc[mode]["count"].append(resp["response"]["numFound"])
                    acc[mode]["plan"].append(resp.get("lookalike"))
        row = {"selectivity": sel, "passing": round(sel * plan.size), "tagged": True}
        for mode, a in acc.items():
            row[f"{mode}_p50_ms"] = round(float(np.median(a["ms"])), 2)
            row[f"{mode}_qtime_p50_ms"] = float(np.median(a["qtime"]))
        row["auto_plan"] = acc["auto"]["plan"][0]
        rows.append(row)
        log.info("crossover %s: %s", collection, row)
    return rows


def case_row(method: str, a: dict[str, list]) -> dict[str, Any]:
    row: dict[str, Any] = {"method": method, "queries": len(a["ms"]), **summary(a["ms"]),
                           "recall_at_10": round(float(np.nanmean(a["recall"])), 4),
                           "min_recall_at_10": round(float(np.nanmin(a["recall"])), 2)}
    if a.get("qtime"):
        row["qtime_p50_ms"] = float(np.median(a["qtime"]))
        row["qtime_p99_ms"] = float(np.percentile(a["qtime"], 99))
        row["over_qtime_p50_ms"] = float(np.median(np.asarray(a["ms"]) - np.asarray(a["qtime"])))
        row["solr_requests"] = float(np.mean(a["requests"]))
        row["max_solr_requests"] = int(max(a["requests"]))
    if a.get("chose"):
        row["chose"] = "/".join(sorted(set(a["chose"])))
        row["mode_reason"] = collections.Counter(a["reason"]).most_common(1)[0][0]
    return row


def topk_sweep(http, api_url: str, qids: list[int], tier: str | None, truth, plan: ScalePlan) -> list[dict]:
    """Auto mode with larger ``candidates`` (the plugin's HNSW topK), interleaved with the default."""
    acc: dict[int, dict[str, list]] = {c: collections.defaultdict(list) for c in (0, *TOPK_SWEEP)}
    for n, pid in enumerate(qids):
        for cand in acc:
            t0 = time.perf_counter()
            body = api_get(http, api_url, pid, tier, "auto", cand or None)
            ms = (time.perf_counter() - t0) * 1000.0
            if n >= plan.warmup:
                r = n - plan.warmup
                acc[cand]["ms"].append(ms)
                acc[cand]["recall"].append(recall([int(p["id"]) for p in body["products"]], truth[0][r], truth[1][r]))
                acc[cand]["qtime"].append(body["qtime_ms"])
                acc[cand]["requests"].append(body["solr_requests"])
                acc[cand]["chose"].append(body["mode"])
                acc[cand]["reason"].append(body["mode_reason"])
    return [{"candidates": cand or "default", **case_row("api auto", a)} for cand, a in acc.items()]


def as_indexed(vectors: np.ndarray) -> np.ndarray:
    """PCA-axis vectors as the indexer writes them: turned by the reducer's balancing rotation."""
    from indexer.pca import balancing_rotation

    rotation = balancing_rotation(vectors.shape[1], seed=0).astype(np.float32)
    return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32) @ rotation)


def run(settings: Settings, plan: ScalePlan, vectors: np.ndarray, buckets: np.ndarray, groups: np.ndarray) -> list[dict]:
    """Load the vectors, build the in-process baselines, then per variant: write, merge, measure."""
    from benchmarks.cloud_bench import truth
    from benchmarks.solr_bench import SolrPlan, solr_node
    from query.build import HNSW_MIN_TOP_K

    stages: dict[str, float] = {}
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    vectors = as_indexed(vectors[: plan.size])
    buckets, groups = np.asarray(buckets[: plan.size]), np.asarray(groups[: plan.size])
    stages["load_vectors_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(20261202)
    qids = [int(i) for i in rng.choice(plan.size, plan.queries + plan.warmup, replace=False)]
    t0 = time.perf_counter()
    truths = {label: truth(vectors, qids[plan.warmup:], tier_mask(buckets, tier)) for label, tier, _ in cases()}
    stages["numpy_truth_s"] = time.perf_counter() - t0
    inproc = InProcess(vectors, buckets, HNSW_MIN_TOP_K)
    stages["faiss_build_s"] = inproc.build_s
    log.info("scale: %d x %d loaded, truth and FAISS built: %s", plan.size, plan.width, stages)
    rows: list[dict] = []
    splan = SolrPlan(cells=(), sweep_cell=(0, 0), port=plan.solr_port, heap=plan.heap)
    t0 = time.perf_counter()
    with solr_node(settings, splan) as (client, _st):
        stages["solr_start_s"] = time.perf_counter() - t0
        for variant in plan.variants:
            try:
                rows += run_variant(settings, client, plan, variant, vectors, buckets, groups, qids, truths, inproc,
                                    HNSW_MIN_TOP_K, stages)
            except Exception as err:  # noqa: BLE001 - the other variants still report
                log.exception("scale: variant %s failed", variant)
                rows.append({"section": "scale_error", "variant": variant, "error": str(err)})
    stages["total_s"] = time.perf_counter() - t_all
    rows.append({"section": "scale_run", "size": plan.size, "dims": plan.width, "heap": plan.heap,
                 "queries": plan.queries, "faiss_ef": HNSW_MIN_TOP_K, "top_k": HNSW_MIN_TOP_K,
                 "stages_s": {k: round(v, 1) for k, v in stages.items()}, "load_avg_end": list(os.getloadavg())})
    return rows


def run_variant(settings: Settings, client: SolrClient, plan: ScalePlan, variant: str, vectors, buckets, groups,
                qids: list[int], truths: dict, inproc: InProcess, top_k: int, stages: dict[str, float]) -> list[dict]:
    import urllib3

    from benchmarks.api_bench import no_result_cache, start_api, stop_api
    from benchmarks.cloud_bench import node_memory, throughput, write
    from benchmarks.quantization import hnsw_working_set_mb, index_size
    from benchmarks.solr_bench import _node_pid, settle
    from lookalike.solr import cloud

    name = f"bench_scale_{variant}"
    if name in cloud.list_collections(client):
        cloud.delete_collection(client, name)
    create_variant(client, name, plan.width, variant)
    no_result_cache(client, name)
    writer = SolrClient(settings, client.base_url, role="indexer")
    w = write(writer, name, documents(vectors, buckets, groups, 0, plan.size), max_segments=plan.merge_segments)
    stages[f"{variant}_write_s"], stages[f"{variant}_merge_s"] = w["write_s"], w["merge_s"]
    stages[f"{variant}_settle_s"] = settle(_node_pid(settings, plan.solr_port), timeout_s=600)
    mem = node_memory(settings, [plan.solr_port])[0]
    size = index_size(client, name)
    rows: list[dict] = [{"section": "scale_index", "variant": variant, "size": plan.size, "dims": plan.width, **w,
                         "index_mb": mem["index_mb"].get(name), "rss_mb": mem["rss_mb"], "heap": plan.heap,
                         "hnsw_working_set_mb": hnsw_working_set_mb(size, variant)}]
    log.info("scale %s: %s", variant, rows[-1])
    cloud.create_alias(client, settings.alias, name)
    app = settings.model_copy(update={"solr_url": client.base_url})
    proc = start_api(app, client.base_url, plan.api_port, settings.data_dir / "scale-serve.log", timeout_s=180)
    api_url = f"http://127.0.0.1:{plan.api_port}"
    base = {"variant": variant, "size": plan.size, "dims": plan.width}
    try:
        http = urllib3.PoolManager(maxsize=1, retries=False)
        with SolrClient(app, client.base_url, role="search") as direct:
            for label, tier, sel in cases():
                t0 = time.perf_counter()
                for r in measure_case(http, api_url, direct, name, inproc, qids, tier, truths[label], plan, top_k):
                    rows.append({"section": "scale", **base, "filter": label, "selectivity": sel, **r,
                                 "load_1m": round(os.getloadavg()[0], 1)})
                    log.info("scale %s %s %s: p50 %.1f p99 %.1f recall %.3f", variant, label, r["method"],
                             r["p50_ms"], r["p99_ms"], r["recall_at_10"])
                auto = next(r for r in rows[::-1] if r.get("method") == "api auto")
                if auto["recall_at_10"] < RECALL_AIM:
                    for r in topk_sweep(http, api_url, qids, tier, truths[label], plan):
                        rows.append({"section": "scale_topk", **base, "filter": label, "selectivity": sel, **r})
                        log.info("scale topk %s %s: %s", label, r["candidates"], r)
                stages[f"{variant}_queries_{label}_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            rows += [{"section": "scale_crossover", **base, **r} for r in crossover(direct, name, qids, plan, top_k)]
            stages[f"{variant}_crossover_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for clients in CLIENTS:
                rows.append({"section": "scale_throughput", **base,
                             **throughput(api_url, [str(i) for i in qids], clients, plan.throughput_s)})
                log.info("scale throughput: %s", rows[-1])
            stages[f"{variant}_throughput_s"] = time.perf_counter() - t0
        rows[0]["rss_after_queries_mb"] = node_memory(settings, [plan.solr_port])[0]["rss_mb"]
    finally:
        stop_api(proc)
        try:
            cloud.delete_alias(client, settings.alias)
            cloud.delete_collection(client, name)
        except Exception:  # noqa: BLE001 - the node is stopped after the last variant anyway
            log.warning("could not drop %s", name)
    return rows

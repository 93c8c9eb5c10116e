"""Section 'solr': Solr's HNSW ``{!knn}``, our exact ``{!lookalike}`` plugin and the planner, over HTTP.

One Solr node is started with lookalike's own launcher (``lookalike.solr.cluster``) on the
benchmark's port, in the benchmark's data dir, and stopped at the end whatever happens.
Collections are made with ``lookalike.solr.cloud.create_collection`` (the product
configset: ``dot_product`` on unit vectors, HNSW M=16, beamWidth=100), fed the same vectors
as the in-process methods with a ``bucket_l`` attribute, and queried through ``/select``
with ``fl=id,score rows=10``. Filters are ``fq=bucket_l:[0 TO b-1]``: Solr's kNN uses them
as a pre-filter; the plugin sees them as a filter that its two-phase iterator intersects.

Latency is the client's wall time for one HTTP request (JSON parse included); Solr's own
``QTime`` is recorded beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from query.build import HNSW_MIN_TOP_K  # the planner's approx path asks HNSW for this many

from benchmarks import harness
from benchmarks.data import Dataset, bucket_limit
from benchmarks.metrics import latency_stats, recall_at_k
from lookalike.connection import SolrClient
from lookalike.errors import SolrRequestError
from lookalike.settings import Settings

log = logging.getLogger(__name__)
K = 10


@dataclass(frozen=True)
class SolrPlan:
    cells: tuple[tuple[int, int], ...]  # (size, width) collections with the product schema (HNSW M=16)
    sweep_cell: tuple[int, int]  # where the topK sweep and the crossover sweep run
    exact_cells: tuple[tuple[int, int], ...] = ()  # (size, width) for the plugin only: a minimal graph
    topk_sweep: tuple[int, ...] = (10, 20, 40, 80, 160)
    default_topk: int = 80
    selectivities: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    crossover_selectivities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
    latency_budget_s: float = 3.0
    max_latency_queries: int = 100
    throughput_budget_s: float = 3.0
    batch_docs: int = 1000
    heap: str = "2g"
    port: int = 48983


def default_plan(sizes: tuple[int, ...], *, quick: bool = False, large: bool = False) -> SolrPlan:
    small = min(sizes)
    if quick:
        return SolrPlan(cells=((small, 128),), exact_cells=((small, 256),), sweep_cell=(small, 128),
                        topk_sweep=(10, 40, 80, 160),
                        crossover_selectivities=(1.0, 0.1, 0.01, 0.001), latency_budget_s=1.0,
                        max_latency_queries=30, throughput_budget_s=1.0, heap="1g")
    # Default: the full product schema (HNSW M=16) at the smallest size and 256-d, where the
    # topK and crossover sweeps run; the plugin alone (cheapest graph) at every size up to 500k,
    # 256-d and 1024-d (the widths issue 5 asks for). --large adds HNSW at 500k and the plugin at 1M.
    cells = [(small, 256)]
    exact_cells = [(small, 1024)] + [(n, w) for n in sizes if small < n <= 500_000 for w in (256, 1024)]
    if large:
        cells += [(n, 256) for n in sizes if small < n <= 500_000]
        exact_cells += [(n, 256) for n in sizes if n > 500_000]
    return SolrPlan(cells=tuple(cells), exact_cells=tuple(c for c in exact_cells if c not in cells),
                    sweep_cell=(small, 256))


@contextmanager
def solr_node(settings: Settings, plan: SolrPlan):
    """A one-node SolrCloud of lookalike's launcher; always stopped on exit."""
    from lookalike.solr import cluster, node

    st = cluster.start(settings, nodes=1, port=plan.port, heap=plan.heap)
    try:
        client = SolrClient(settings, node.base_url(plan.port), role="admin")
        yield client, st
    finally:
        cluster.stop(settings)


def _node_pid(settings: Settings, port: int) -> int | None:
    from lookalike.solr import node

    return node.NodeFiles(settings.solr_dir, port).read_pid()


def _rss_mb(pid: int | None) -> float:
    import psutil

    if not pid:
        return float("nan")
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.Error:
        return float("nan")


def settle(pid: int | None, *, idle_share: float = 0.1, timeout_s: float = 180.0) -> float:
    """Wait until the Solr node is idle (background merges after the commit done); seconds waited.

    Latency measured while Lucene still merges the segments just written would charge the merge
    threads' CPU and memory traffic to the queries. Idle: under ``idle_share`` of one core over a
    second. Gives up after ``timeout_s`` (the rows then carry that wait).
    """
    import psutil

    if not pid:
        return 0.0
    t0 = time.perf_counter()
    try:
        proc = psutil.Process(pid)
        last = sum(proc.cpu_times()[:2])
        while time.perf_counter() - t0 < timeout_s:
            time.sleep(1.0)  # sampling CPU time over a fixed window, not waiting for a server
            now = sum(proc.cpu_times()[:2])
            if now - last < idle_share:
                break
            last = now
    except psutil.Error:
        pass
    waited = time.perf_counter() - t0
    log.info("solr: node idle after %.1f s", waited)
    return round(waited, 1)


def index_size_mb(client: SolrClient, collection: str) -> tuple[float, int]:
    """Bytes on disk and segment count of every core of ``collection``."""
    status = client.get("admin/cores", {"action": "STATUS"}).get("status", {})
    size = 0
    segs = 0
    for name, core in status.items():
        if name.startswith(f"{collection}_shard"):
            size += core.get("index", {}).get("sizeInBytes", 0)
            segs += core.get("index", {}).get("segmentCount", 0)
    return size / 2**20, segs


def bucket_documents(vectors: np.ndarray, buckets: np.ndarray, lo: int, hi: int) -> list[dict]:
    """Documents ``lo..hi-1``: id, the filter bucket and the vector."""
    vec = np.asarray(vectors[lo:hi], dtype=np.float32)
    return [{"id": str(i), "bucket_l": int(buckets[i]), "vector": vec[i - lo]} for i in range(lo, hi)]


def feed(settings: Settings, base_url: str, collection: str, vectors: np.ndarray, buckets: np.ndarray,
         *, batch_docs: int, threads: int = 2, documents=bucket_documents) -> dict:
    """Send every vector as a document built by ``documents`` (``threads`` senders), commit; return timings."""
    import orjson

    n = vectors.shape[0]
    local = threading.local()
    encode_s = [0.0]
    lock = threading.Lock()

    def send(lo: int) -> None:
        if not hasattr(local, "client"):
            local.client = SolrClient(settings, base_url, role="indexer")
        hi = min(lo + batch_docs, n)
        t0 = time.perf_counter()
        body = orjson.dumps(documents(vectors, buckets, lo, hi), option=orjson.OPT_SERIALIZE_NUMPY)
        with lock:
            encode_s[0] += time.perf_counter() - t0
        local.client.request("POST", f"{collection}/update", params={"wt": "json"}, data=body,
                             headers={"Content-Type": "application/json"}, timeout_s=600)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, range(0, n, batch_docs)))
    t_sent = time.perf_counter() - t0
    with SolrClient(settings, base_url, role="indexer") as client:
        client.request("POST", f"{collection}/update", params={"commit": "true", "wt": "json"}, json_body={},
                       timeout_s=1800)
    total = time.perf_counter() - t0
    return {"docs": n, "send_s": t_sent, "commit_s": total - t_sent, "index_s": total,
            "docs_per_s": n / total, "client_encode_s": encode_s[0]}


def vector_literal(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in v.tolist()) + "]"


class SolrSearch:
    """One way of asking Solr for the top 10: ``knn`` (topK=...) or ``exact`` (the plugin)."""

    def __init__(self, settings: Settings, base_url: str, collection: str, queries: np.ndarray, kind: str, *,
                 top_k: int = 80, fq: str | None = None):
        self.settings, self.base_url, self.collection = settings, base_url, collection
        self.kind, self.top_k, self.fq = kind, top_k, fq
        self.literals = [vector_literal(q) for q in queries]
        self.qtimes: list[float] = []
        self._local = threading.local()

    def params(self, i: int) -> dict:
        if self.kind == "knn":
            q = f"{{!knn f=vector topK={self.top_k}}}{self.literals[i]}"
            p = {"q": q, "vec": None}
        else:
            p = {"q": "{!lookalike f=vector vector=$vec}", "vec": self.literals[i]}
        p.update({"rows": K, "fl": "id,score", "fq": self.fq})
        return p

    def __call__(self, i: int) -> np.ndarray:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = SolrClient(self.settings, self.base_url)
        resp = client.select(self.collection, self.params(i))
        self.qtimes.append(resp.get("responseHeader", {}).get("QTime", float("nan")))
        ids = [int(d["id"]) for d in resp["response"]["docs"]]
        return np.array(ids + [-1] * (K - len(ids)), dtype=np.int64)


class PlannerSearch(SolrSearch):
    """The query layer's planner (``query.planner.choose_mode``) in front of the two paths.

    Per query: one ``rows=0`` count with the filter (as the search client does), the
    planner's choice, then that query. Latency includes the count request.
    """

    def __init__(self, settings, base_url, collection, queries, *, top_k: int = 80, fq: str | None = None,
                 exact_max_docs: int | None = None):
        super().__init__(settings, base_url, collection, queries, "planner", top_k=top_k, fq=fq)
        self.exact_max_docs = exact_max_docs or settings.exact_max_docs  # None: the planner's fixed threshold
        self.queries = queries
        self.chosen: list[str] = []

    def __call__(self, i: int) -> np.ndarray:
        from query.models import SearchRequest
        from query.planner import choose_mode

        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = SolrClient(self.settings, self.base_url)
        count = client.select(self.collection, {"q": "*:*", "rows": 0, "fq": self.fq})["response"]["numFound"]
        request = SearchRequest(vector=tuple(float(x) for x in self.queries[i]), mode="auto", k=K)
        mode, _why = choose_mode(request, count, self.exact_max_docs)
        self.chosen.append(mode)
        self.kind = "knn" if mode == "approx" else "exact"
        return super().__call__(i)


def fq_for(selectivity: float) -> str | None:
    return None if selectivity >= 1.0 else f"bucket_l:[0 TO {bucket_limit(selectivity) - 1}]"


def _measure(search: SolrSearch, truth: np.ndarray, n_queries: int, plan: SolrPlan, *, throughput: bool) -> dict:
    lat, found = harness.one_client(search, n_queries, budget_s=plan.latency_budget_s,
                                    max_queries=plan.max_latency_queries)
    qt = latency_stats(np.asarray(search.qtimes[-len(found):]) / 1000.0)
    row = {"recall10": recall_at_k(np.stack(found), truth[: len(found)]), "recall_queries": len(found),
           "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "latency_queries": lat["n"],
           "qtime_p50_ms": qt["p50_ms"], "qtime_p99_ms": qt["p99_ms"]}
    if throughput:
        row["qps2"] = harness.two_clients(search, n_queries, budget_s=plan.throughput_budget_s)["qps"]
    return row


def exact_truth(ds: Dataset, size: int, width: int, selectivity: float, gt_cache: dict) -> np.ndarray:
    from benchmarks.inmemory import ground_truth

    key = (size, width)
    cached = gt_cache.get(key, {})
    if selectivity in cached:
        return cached[selectivity]
    mask = None if selectivity >= 1.0 else np.asarray(ds.buckets(size)) < bucket_limit(selectivity)
    truth = ground_truth(ds.queries(width), ds.vectors(width, size), {selectivity: mask})[selectivity]
    gt_cache.setdefault(key, {})[selectivity] = truth
    return truth


def run(ds: Dataset, plan: SolrPlan, settings: Settings, gt_cache: dict, *, after=None) -> list[dict]:
    """Every cell of ``plan``; then ``after(client)`` (more rows) while the node is still up."""
    rows: list[dict] = []
    with solr_node(settings, plan) as (client, st):
        from lookalike.solr import cloud

        pid = _node_pid(settings, plan.port)
        base = client.base_url
        rows.append({"section": "solr_node", "java": st.java, "rss_idle_mb": _rss_mb(pid), "heap": plan.heap})
        cells = [(c, True) for c in plan.cells] + [(c, False) for c in plan.exact_cells]
        for (size, width), with_knn in cells:
            name = f"bench_{size // 1000}k_{width}" + ("" if with_knn else "_exact")
            cloud.create_collection(client, name, width, 1, 1)
            try:
                if not with_knn:
                    minimal_graph(client, name, width)
                rows += _run_cell(ds, plan, settings, base, client, name, size, width, pid, gt_cache,
                                  with_knn=with_knn)
            finally:
                cloud.delete_collection(client, name)
        if after is not None:
            try:
                rows += after(client)
            except Exception as err:  # noqa: BLE001 - reported, the suite goes on
                log.exception("a follow-up Solr measure failed")
                rows.append({"section": "solr_after_error", "error": str(err)})
    return rows


def minimal_graph(client: SolrClient, collection: str, width: int) -> None:
    """Give an exact-only collection the cheapest HNSW graph (M=2, beamWidth=4).

    Lucene always builds a graph for an indexed vector field; the plugin never reads it, so
    for the plugin's large cells the graph is made as cheap as possible to keep the suite's
    time down. Everything the plugin reads (the flat vectors) is the same.
    """
    from lookalike.solr import cloud

    ft = {**cloud.vector_field_type(width), "hnswMaxConnections": 2, "hnswBeamWidth": 4}
    client.post(f"{collection}/schema", {"updateTimeoutSecs": 60}, json_body={"replace-field-type": ft})


def _run_cell(ds, plan, settings, base, client, name, size, width, pid, gt_cache, *,
              with_knn: bool = True) -> list[dict]:
    rows = []
    rss0 = _rss_mb(pid)
    feed_stats = feed(settings, base, name, ds.vectors(width, size), ds.buckets(size), batch_docs=plan.batch_docs)
    settle_s = settle(pid)
    disk_mb, segments = index_size_mb(client, name)
    rows.append({"section": "solr_write", "size": size, "dims": width, "graph": "M=16,beam=100" if with_knn else
                 "M=2,beam=4", **feed_stats, "index_mb": disk_mb, "settle_s": settle_s,
                 "segments": segments, "rss_before_mb": rss0, "rss_after_mb": _rss_mb(pid)})
    log.info("solr: indexed %d x %d in %.1f s (%.0f docs/s), %d segments, %.0f MB", size, width,
             feed_stats["index_s"], feed_stats["docs_per_s"], segments, disk_mb)
    queries = ds.queries(width)
    nq = len(queries)
    common = {"section": "methods", "size": size, "dims": width, "build_s": feed_stats["index_s"],
              "build_docs_per_s": feed_stats["docs_per_s"], "index_mb": disk_mb}
    sweep = (size, width) == plan.sweep_cell
    sels = plan.crossover_selectivities if sweep else plan.selectivities
    plugin_error = None
    for top_k in (plan.topk_sweep if sweep else (plan.default_topk,)) if with_knn else ():
        s = SolrSearch(settings, base, name, queries, "knn", top_k=top_k)
        row = _measure(s, exact_truth(ds, size, width, 1.0, gt_cache), nq, plan,
                       throughput=top_k == plan.default_topk)
        rows.append({**common, "method": "Solr {!knn} HNSW", "family": "solr-hnsw", "filter_mode": "pre",
                     "selectivity": 1.0, "params": {"topK": top_k}, **row, "rss_mb": _rss_mb(pid)})
        log.info("solr knn topK=%d recall=%.3f p50=%.1fms", top_k, row["recall10"], row["p50_ms"])
    for sel in sels:
        truth = exact_truth(ds, size, width, sel, gt_cache)
        if sel < 1.0 and with_knn:
            s = SolrSearch(settings, base, name, queries, "knn", top_k=plan.default_topk, fq=fq_for(sel))
            row = _measure(s, truth, nq, plan, throughput=False)
            rows.append({**common, "method": "Solr {!knn} HNSW", "family": "solr-hnsw", "filter_mode": "pre",
                         "selectivity": sel, "params": {"topK": plan.default_topk}, **row})
            log.info("solr knn sel=%s recall=%.3f p50=%.1fms", sel, row["recall10"], row["p50_ms"])
        if plugin_error:
            continue
        s = SolrSearch(settings, base, name, queries, "exact", fq=fq_for(sel))
        try:
            row = _measure(s, truth, nq, plan, throughput=sel >= 1.0)
        except SolrRequestError as err:  # an older plugin build: say so in the report, keep going
            rows.append({**common, "method": "Lookalike {!lookalike} exact", "family": "solr-exact",
                         "selectivity": sel, "error": str(err)})
            log.warning("solr exact unavailable: %s", err)
            plugin_error = str(err)
            continue
        rows.append({**common, "method": "Lookalike {!lookalike} exact", "family": "solr-exact",
                     "filter_mode": "filter", "selectivity": sel, "params": {}, **row, "rss_mb": _rss_mb(pid)})
        log.info("solr exact sel=%s recall=%.3f p50=%.1fms", sel, row["recall10"], row["p50_ms"])
        if with_knn and not plugin_error:
            p = PlannerSearch(settings, base, name, queries, top_k=HNSW_MIN_TOP_K, fq=fq_for(sel))
            row = _measure(p, truth, nq, plan, throughput=False)
            chose = sorted(set(p.chosen))
            rows.append({**common, "method": "Lookalike planner (auto)", "family": "solr-planner",
                         "filter_mode": "pre", "selectivity": sel,
                         "params": {"chose": "/".join(chose), "exact_max_docs": p.exact_max_docs}, **row})
            log.info("solr planner sel=%s chose %s recall=%.3f p50=%.1fms", sel, chose, row["recall10"],
                     row["p50_ms"])
    return rows

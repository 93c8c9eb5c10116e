"""Section 'api': what the HTTP API adds on top of Solr, for similar-by-id at 100k products.

One Solr node (``solr_bench.solr_node``, the benchmark's port) holds a 100k-product
collection of the product configset (256-d unit vectors; ``color_s`` with 10 values,
``shade_s`` with 100, ``in_stock``, ``group`` per 4 rows) behind the storefront alias,
force-merged to one segment as ``lookalike index`` leaves a collection (``LOOKALIKE_MERGE_SEGMENTS``).
The real app runs in a subprocess (``lookalike serve``, uvicorn, one worker), and one client
asks ``GET /api/products/{id}/similar?k=10`` with no filter, a 10% filter (``color:c3``) and a
1% filter (``shade:s7``), in modes auto/approx/exact. Per request we keep:

* the client's wall time for the API request (urllib3 and orjson, as the direct requests);
* ``qtime_ms`` from the answer: Solr's ``QTime`` summed over the requests the API made, and
  ``solr_requests``, how many it made (one per similar-by-id: the plugin reads the product's
  vector and group and plans exact or HNSW inside Solr);
* the app's own time to the first byte (``X-Response-Time-Ms``) and the search service's
  (``took_ms``);
* the wall time of the same Solr requests sent directly (no API in between).

The direct requests are exactly the ones the app sends: an in-process
:class:`query.client.SearchService` with a recording client answers each case once, and
the recorded requests (for similar-by-id, the one ``/select``) are replayed, timed, with a
plain :class:`SolrClient`. Solr's queryResultCache is kept from caching ranked pages
(:func:`no_result_cache`), so each repeat costs Solr the full search. Cases are interleaved
per product id, so API and direct Solr share the same moments of the machine's load. The
API process's CPU time per request (user + system, from ``/proc``) is kept per case too: on a
loaded machine it moves far less than wall time.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np

from benchmarks.metrics import latency_stats
from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)

K = 10
COLLECTION = "bench_api_100k"
CASES: tuple[tuple[str, str | None, float], ...] = (("none", None, 1.0), ("color:c3", "color:c3", 0.1),
                                                     ("shade:s7", "shade:s7", 0.01))
MODES = ("auto", "approx", "exact")


@dataclass(frozen=True)
class ApiPlan:
    size: int = 100_000
    width: int = 256
    queries: int = 200  # product ids asked per (filter, mode)
    warmup: int = 10
    solr_port: int = 48983
    api_port: int = 48000
    heap: str = "2g"
    batch_docs: int = 1000


def default_plan(*, quick: bool = False, solr_port: int = 48983, api_port: int = 48000) -> ApiPlan:
    if quick:
        return ApiPlan(size=20_000, queries=40, warmup=5, solr_port=solr_port, api_port=api_port, heap="1g")
    return ApiPlan(solr_port=solr_port, api_port=api_port)


def documents(vectors: np.ndarray, buckets: np.ndarray, lo: int, hi: int) -> list[dict[str, Any]]:
    """Products ``lo..hi-1``: colour from the bucket (10 values), shade (100), stock, group of 4."""
    vec = np.asarray(vectors[lo:hi], dtype=np.float32)
    return [{"id": str(i), "color_s": f"c{int(buckets[i]) % 10}", "shade_s": f"s{int(buckets[i]) % 100}",
             "in_stock": i % 5 != 0, "group": str(i // 4), "vector": vec[i - lo]} for i in range(lo, hi)]


def no_result_cache(client: SolrClient, collection: str) -> None:
    """Keep Solr from answering a repeated search from its queryResultCache.

    Every case asks the same product ids several times (recording, the API, direct), so a
    cached ranked list would make all but the first nearly free. With
    ``queryResultMaxDocsCached=0`` no ranked page is cached (a ``rows=0`` count still is, as it
    would be on a storefront where every product page counts the same filter); the
    filterCache stays on.
    """
    client.post(f"{collection}/config", json_body={"set-property": {"query.queryResultMaxDocsCached": 0}})
    got = client.get(f"{collection}/config/query")["config"]["query"].get("queryResultMaxDocsCached")
    if got != 0:
        raise RuntimeError(f"could not turn off the queryResultCache of {collection}: queryResultMaxDocsCached={got}")


class RecordingClient(SolrClient):
    """A :class:`SolrClient` that keeps every request it sends (to replay them directly)."""

    def __init__(self, settings: Settings, base_url: str | None = None):
        super().__init__(settings, base_url)
        self.sent: list[dict[str, Any]] = []

    def request(self, method, path, **kw):  # noqa: ANN001 - same signature as SolrClient.request
        self.sent.append({"method": method, "path": path, **kw})
        return super().request(method, path, **kw)


def recorded_requests(settings: Settings, base_url: str, ids: list[str], filt: str | None,
                      mode: str) -> list[list[dict[str, Any]]]:
    """Per id, the Solr requests the app sends for ``/similar?k=10&filter=..&mode=..``."""
    from query.http.params import options_from_query
    from query.client import SearchService
    from query.models import SimilarRequest, parse_request

    client = RecordingClient(settings, base_url)
    service = SearchService(settings, client)
    out = []
    with client:
        for i, product_id in enumerate(ids):
            opts = options_from_query(k=K, offset=0, filter=[filt] if filt else [], min_similarity=None, facet=[],
                                      variants="include", mode=mode, in_stock=None, candidates=None)
            request = parse_request(SimilarRequest, {"id": product_id, **opts}).to_search()
            if i == 0:
                service.search(request)  # reads and caches the schema and the collection's size
            client.sent.clear()
            service.search(request)
            out.append(list(client.sent))
    return out


# -- the app in a subprocess --------------------------------------------------------------------


def start_api(settings: Settings, solr_url: str, port: int, log_path: Path, *, timeout_s: float = 60.0):
    import requests

    env = {**os.environ, "LOOKALIKE_SOLR_URL": solr_url, "LOOKALIKE_DATA_DIR": str(settings.data_dir),
           "LOOKALIKE_ALIAS": settings.alias}
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by stop_api
    proc = subprocess.Popen([sys.executable, "-m", "lookalike.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc.log_file = log_file  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout_s
    url = f"http://127.0.0.1:{port}/openapi.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode}; see {log_path}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)  # poll interval while uvicorn starts
    stop_api(proc)
    raise RuntimeError(f"the API did not answer on port {port} within {timeout_s:.0f} s; see {log_path}")


def stop_api(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log_file.close()


# -- measuring ----------------------------------------------------------------------------------


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _cpu_ms(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, in ms."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def measure_case(http, api_url: str, direct: SolrClient, ids: list[str], recorded: list[list[dict]],
                 filt: str | None, mode: str, warmup: int, api_pid: int | None = None) -> dict:
    """Interleaved per id: the API request, then the same Solr requests directly."""
    import orjson

    query = urlencode({"k": K, "mode": mode, **({"filter": filt} if filt else {})})
    api_ms, qtime_ms, took_ms, server_ms, direct_ms, modes, nreq = [], [], [], [], [], set(), []
    cpu0 = 0.0
    for n, (product_id, reqs) in enumerate(zip(ids, recorded)):
        if n == warmup and api_pid:
            cpu0 = _cpu_ms(api_pid)
        t0 = time.perf_counter()
        resp = http.request("GET", f"{api_url}/api/products/{quote(product_id, safe='')}/similar?{query}", timeout=60)
        body = orjson.loads(resp.data)
        api = _ms(t0)
        if resp.status != 200:
            raise RuntimeError(f"the API answered {resp.status}: {resp.data[:300]!r}")
        t0 = time.perf_counter()
        last = None
        for r in reqs:
            last = direct.request(r["method"], r["path"], **{k: v for k, v in r.items() if k not in ("method", "path")})
        direct_all = _ms(t0)
        if n < warmup:
            continue
        if last is not None and len(body["products"]) != len(last.get("response", {}).get("docs", [])[:K]):
            log.warning("api and direct disagree on result count for %s (%s, %s)", product_id, filt, mode)
        api_ms.append(api)
        qtime_ms.append(body["qtime_ms"])
        took_ms.append(body["took_ms"])
        server_ms.append(float(resp.headers.get("x-response-time-ms", "nan")))
        direct_ms.append(direct_all)
        modes.add(body["mode"])
        nreq.append(body["solr_requests"])
    cpu_per_request = (_cpu_ms(api_pid) - cpu0) / len(api_ms) if api_pid and api_ms else float("nan")

    def st(xs):
        s = latency_stats(np.asarray(xs, dtype=float) / 1000.0)
        return s["p50_ms"], s["p99_ms"]

    row: dict[str, Any] = {"queries": len(api_ms), "chose": "/".join(sorted(modes)),
                           "solr_requests": float(np.mean(nreq)), "solr_requests_max": int(max(nreq)),
                           "direct_requests": float(np.mean([len(r) for r in recorded[warmup:]])),
                           "api_cpu_ms": cpu_per_request}
    for name, xs in (("api", api_ms), ("qtime", qtime_ms), ("took", took_ms), ("server", server_ms),
                     ("direct", direct_ms)):
        row[f"{name}_p50_ms"], row[f"{name}_p99_ms"] = st(xs)
    row["over_qtime_p50_ms"] = float(np.median(np.asarray(api_ms) - np.asarray(qtime_ms)))
    row["over_direct_p50_ms"] = float(np.median(np.asarray(api_ms) - np.asarray(direct_ms)))
    # where the gap over direct goes, as medians of per-request differences
    row["service_over_direct_p50_ms"] = float(np.median(np.asarray(took_ms) - np.asarray(direct_ms)))
    row["app_over_service_p50_ms"] = float(np.median(np.asarray(server_ms) - np.asarray(took_ms)))
    row["client_over_app_p50_ms"] = float(np.median(np.asarray(api_ms) - np.asarray(server_ms)))
    return row


def run(settings: Settings, plan: ApiPlan, vectors: np.ndarray, buckets: np.ndarray) -> list[dict]:
    """Start Solr, load the collection, start the app, measure every case; stop both."""
    import urllib3

    from benchmarks.solr_bench import SolrPlan, _node_pid, _rss_mb, feed, solr_node
    from lookalike.solr import cloud

    rows: list[dict] = []
    splan = SolrPlan(cells=(), sweep_cell=(0, 0), port=plan.solr_port, heap=plan.heap)
    with solr_node(settings, splan) as (client, _st):
        base = client.base_url
        app_settings = settings.model_copy(update={"solr_url": base})
        if COLLECTION in cloud.list_collections(client):
            cloud.delete_collection(client, COLLECTION)
        cloud.create_collection(client, COLLECTION, plan.width, 1, 1)
        no_result_cache(client, COLLECTION)
        index_s = feed(settings, base, COLLECTION, vectors[: plan.size], buckets, batch_docs=plan.batch_docs,
                       documents=documents)["index_s"]
        t0 = time.perf_counter()
        client.post(f"{COLLECTION}/update", params={"optimize": "true", "maxSegments": 1, "waitSearcher": "true"},
                    json_body={}, timeout_s=1800)  # as a bulk reindex leaves it (LOOKALIKE_MERGE_SEGMENTS=1)
        merge_s = time.perf_counter() - t0
        cloud.create_alias(client, settings.alias, COLLECTION)
        log.info("api: indexed %d x %d in %.1f s, merged to one segment in %.1f s", plan.size, plan.width, index_s,
                 merge_s)
        rng = np.random.default_rng(20261123)
        ids = [str(i) for i in rng.choice(plan.size, plan.queries + plan.warmup, replace=False)]
        log_path = settings.data_dir / "api-bench-serve.log"
        proc = start_api(settings, base, plan.api_port, log_path)
        try:
            api_url = f"http://127.0.0.1:{plan.api_port}"
            http = urllib3.PoolManager(maxsize=1, retries=False)
            with SolrClient(app_settings, base) as direct:
                for label, filt, sel in CASES:
                    for mode in MODES:
                        recorded = recorded_requests(app_settings, base, ids, filt, mode)
                        row = measure_case(http, api_url, direct, ids, recorded, filt, mode, plan.warmup, proc.pid)
                        rows.append({"section": "api", "size": plan.size, "dims": plan.width, "filter": label,
                                     "selectivity": sel, "mode": mode, "index_s": index_s, "merge_s": merge_s,
                                     "segments": 1, **row})
                        log.info("api %s %s: api p50 %.1f ms, qtime p50 %.1f, direct p50 %.1f, +%.1f over qtime, "
                                 "+%.1f over direct", label, mode, row["api_p50_ms"], row["qtime_p50_ms"],
                                 row["direct_p50_ms"], row["over_qtime_p50_ms"], row["over_direct_p50_ms"])
            rows.append({"section": "api_node", "rss_mb": _rss_mb(_node_pid(settings, plan.solr_port)),
                         "heap": plan.heap})
        finally:
            stop_api(proc)
            try:
                cloud.delete_alias(client, settings.alias)
                cloud.delete_collection(client, COLLECTION)
            except Exception:  # noqa: BLE001 - the node is stopped next anyway
                log.warning("could not drop %s", COLLECTION)
    return rows

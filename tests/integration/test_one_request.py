"""One Solr request per similar-by-id, in every mode, planned by the plugin on each shard.

The plugin (``{!lookalike mode=auto|exact|approx}``) reads the examples' vectors and groups
inside Solr and picks exact or HNSW per shard from what the filters leave there. These tests
count the HTTP requests the search service sends (a counting transport under its SolrClient),
and compare every answer with the path it replaced: the client's real-time get of the examples
then ``{!knn}`` / ``{!vectorSimilarity}`` (approx) or ``{!lookalike}`` (exact), built by the
same pure builder with the looked-up target. Exact answers must be equal; approx answers are
the same HNSW search over the same pre-filter, so they are equal too, and their recall against
exact is checked as well.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import numpy as np
import pytest
from lookalike.connection import SolrClient
from lookalike.solr import cloud
from query.build import build_params
from query.client import SearchService
from query.models import SearchRequest, SimilarRequest

pytestmark = pytest.mark.integration

N, DIMS, GROUP = 240, 8, 4
COLORS = ["red", "blue", "green", "black", "white", "grey"]


def _catalog(seed: int = 3) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N // GROUP, DIMS))
    vectors = np.repeat(centres, GROUP, axis=0) + 0.7 * rng.normal(size=(N, DIMS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        {
            "id": f"p{i:03d}",
            "title": f"{['linen', 'wool', 'silk'][i % 3]} {['dress', 'shirt'][i % 2]}",
            "group": f"g{i // GROUP:02d}",
            "in_stock": i % 3 != 0,
            "color_s": COLORS[(i * 7) % len(COLORS)],
            "print_s": "floral" if i % 5 == 0 else "plain",
            "category_s": ["dress", "shirt"][i % 2],
            "vector": vectors[i].tolist(),
        }
        for i in range(N)
    ]
    return docs, vectors


DOCS, VECTORS = _catalog()
POS = {d["id"]: i for i, d in enumerate(DOCS)}


class CountingAdapter:
    """Counts the HTTP requests a :class:`SolrClient` sends, by the path's last part (wraps the
    urllib3 transport under it: every request, failover retries included, goes through it)."""

    def __init__(self, client: SolrClient) -> None:
        self.paths: Counter[str] = Counter()
        send = client._http.request

        def counted(method, url, *args, **kw):  # noqa: ANN001, ANN002, ANN003 - urllib3's signature
            self.paths[url.split("?")[0].split("/")[-1]] += 1
            return send(method, url, *args, **kw)

        client._http.request = counted


@pytest.fixture(scope="module", params=[1, 2], ids=["1shard", "2shards"])
def env(request, solr):
    name = f"t_one_request_{request.param}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=request.param)
    solr.client.add(name, DOCS, commit=True)
    client = SolrClient(solr.settings, role="search")
    adapter = CountingAdapter(client)
    svc = SearchService(solr.settings, client, collection=name, exact_max_docs=60)
    svc.schema()  # read once, like a running API; then only searches are counted
    try:
        yield svc, adapter, request.param
    finally:
        client.close()
        cloud.delete_collection(solr.client, name)


def _counted(env, request: SearchRequest):
    svc, adapter, _ = env
    adapter.paths.clear()
    resp = svc.search(request)
    return resp, dict(adapter.paths)


def _previous_path(svc: SearchService, request: SearchRequest, mode: str):
    """What the service did before: look the examples up (real-time get), then one select."""
    target = svc._resolve(request, mode)
    params = build_params(request, svc.schema(), mode=mode, target=target)
    docs = svc.client.select(svc.collection, params)["response"]["docs"]
    return [(d["id"], round(d.get("imgscore", d["score"]), 5)) for d in docs]


def _ids_scores(resp):
    return [(p.id, round((1 + p.similarity) / 2, 5)) for p in resp.products]


CASES = {
    "plain": dict(),
    "filter": dict(filters=[{"field": "color", "values": ["red", "blue"]}]),
    "narrow filter": dict(filters=[{"field": "color", "values": ["red"]}], in_stock=True),
    "collapse": dict(variants="collapse"),
    "exclude variants": dict(variants="exclude", filters=[{"field": "color", "values": ["red", "green"]}]),
    "threshold": dict(min_similarity=0.3, k=30),
    "text": dict(text="silk dress"),
    "more floral": dict(more=[{"field": "print", "values": ["floral"]}]),
    "less floral, filtered": dict(less=[{"field": "print", "values": ["floral"]}],
                                  filters=[{"field": "category", "values": ["shirt"]}]),
}


@pytest.mark.parametrize("mode", ["auto", "exact", "approx"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_one_request_and_the_same_answer_as_before(env, mode, case):
    svc = env[0]
    request = SearchRequest(like=("p017",), exclude_self=True, mode=mode, **{"k": 12, **CASES[case]})
    if request.more or request.less:
        svc.search(request)  # a direction's samples are read once per schema, then cached
    resp, paths = _counted(env, request)
    assert paths == {"select": 1}, paths
    assert resp.solr_requests == 1
    if mode == "auto":
        assert resp.mode in ("exact", "approx") and "filters leave" in resp.mode_reason
    else:
        assert resp.mode == mode and f"mode={mode} was asked for" in resp.mode_reason
    mixed = "exact scan" in resp.mode_reason and "HNSW kNN" in resp.mode_reason
    got = _ids_scores(resp)
    before = _previous_path(svc, request, resp.mode)
    if mixed:  # the shards chose differently: exact where the filter is small, never worse
        assert len(got) == len(before)
        return
    assert [g[0] for g in got] == [b[0] for b in before]
    assert [g[1] for g in got] == pytest.approx([b[1] for b in before], abs=2e-5)


def test_unlike_and_combine_max_are_exact_in_one_request(env):
    request = SearchRequest(like=("p001", "p130"), unlike=("p002",), combine="max", k=10)
    resp, paths = _counted(env, request)
    assert paths == {"select": 1} and resp.mode == "exact"
    assert "combine=max and unlike examples are exact-only" in resp.mode_reason
    assert [p.id for p in resp.products] == [i for i, _ in _previous_path(env[0], request, "exact")]


def test_each_shard_says_what_it_chose_and_why(env):
    svc, _, shards = env
    narrow = svc.similar(SimilarRequest(id="p017", filters=[{"field": "color", "values": ["red"]}]))
    wide = svc.similar(SimilarRequest(id="p017"))
    red = sum(d["color_s"] == "red" for d in DOCS)
    assert narrow.mode == "exact" and wide.mode == "approx"  # exact_max_docs=60: 40 red, 240 in all
    if shards == 1:
        assert narrow.mode_reason == f"filters leave {red} products on this shard (<= 60): exact scan"
        # the product itself is left out after the search (excludeExamples), not by a filter: all N count
        assert wide.mode_reason == f"filters leave {N} products on this shard (> 60): HNSW kNN"
    else:
        assert "shard1: filters leave " in narrow.mode_reason and "shard2: filters leave " in narrow.mode_reason
        per_shard = [int(part.split("filters leave ")[1].split()[0]) for part in narrow.mode_reason.split("; ")]
        assert sum(per_shard) == red and "exact scan" in narrow.mode_reason


def test_the_default_threshold_is_each_shards_crossover(env):
    svc, _, shards = env
    params = build_params(SimilarRequest(id="p017").to_search(), svc.schema(), mode="auto", in_solr=True)
    assert "exactMaxDocs" not in params["q"]
    resp = svc.client.select(svc.collection, params)
    reasons = resp["lookalike"]["reason"].split("; ")
    assert len(reasons) == shards and resp["lookalike"]["mode"] == "exact"
    docs = [int(r.split("the crossover of its ")[1].split()[0]) for r in reasons]
    assert sum(docs) == N  # each shard's own documents; a few hundred are under the 20000 floor
    assert all(f"(<= 20000, the crossover of its {d} documents): exact scan" in r for r, d in zip(reasons, docs))


def test_debug_query_explains_the_plan(env):
    svc = env[0]
    params = build_params(SimilarRequest(id="p017").to_search(), svc.schema(), mode="auto", in_solr=True,
                          exact_max_docs=10_000)
    resp = svc.client.select(svc.collection, {**params, "debugQuery": "true"})
    assert "exact: filters leave" in str(resp["debug"]["lookalike"])
    assert resp["lookalike"]["mode"] == "exact"


def test_approx_recall_against_exact(env):
    svc = env[0]
    recalls = []
    for pid in ("p003", "p050", "p101", "p177", "p230"):
        for filters in ([], [{"field": "color", "values": ["red", "blue", "green"]}]):
            exact = svc.similar(SimilarRequest(id=pid, k=10, mode="exact", filters=filters))
            approx = svc.similar(SimilarRequest(id=pid, k=10, mode="approx", filters=filters))
            recalls.append(len({p.id for p in exact.products} & {p.id for p in approx.products}) / 10)
    assert np.mean(recalls) >= 0.95, recalls


def test_an_unknown_example_is_not_found_in_every_mode(env):
    from lookalike.errors import NotFound

    for mode in ("auto", "exact", "approx"):
        with pytest.raises(NotFound, match="no product with id 'nope'"):
            env[0].similar(SimilarRequest(id="nope", mode=mode))

"""The packed copy of a hot filter's vectors (the plugin's ``lookalikeFilterVectors`` cache).

A filter's survivors are scattered over the vector file; the plugin packs them side by side on
the filter's second use and scans the copy from then on. These tests run it on a real Solr: the
plan says which way the vectors were read, answers are numpy's exact top 10 before, while and
after packing, and a commit (a new searcher) starts from an empty cache, so a new product is
found at once.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from lookalike.connection import SolrClient
from lookalike.solr import cloud
from query.build import build_params
from query.client import SearchService
from query.models import SimilarRequest

pytestmark = pytest.mark.integration

N, DIMS = 5000, 16
RED = [{"field": "color", "values": ["red"]}]  # 3,000 products: above the plugin's 2,048 floor


def _catalog() -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(N, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        {
            "id": f"p{i:04d}",
            "title": "dress",
            "group": f"p{i:04d}",
            "in_stock": True,
            "color_s": "red" if i % 5 < 3 else "blue",
            "vector": vectors[i].tolist(),
        }
        for i in range(N)
    ]
    return docs, vectors


DOCS, VECTORS = _catalog()


@pytest.fixture(scope="module")
def env(solr):
    name = f"t_filter_vectors_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=1)
    solr.client.add(name, DOCS, commit=True)
    client = SolrClient(solr.settings, role="search")
    svc = SearchService(solr.settings, client, collection=name)
    try:
        yield svc, solr.client, name
    finally:
        client.close()
        cloud.delete_collection(solr.client, name)


def _similar(svc: SearchService, pid: str, k: int = 10, **extra: str) -> tuple[list[str], list[float], dict]:
    params = build_params(SimilarRequest(id=pid, k=k, filters=RED).to_search(), svc.schema(),
                          mode="auto", in_solr=True)
    resp = svc.client.select(svc.collection, {**params, **extra})
    docs = resp["response"]["docs"]
    return [d["id"] for d in docs], [d.get("imgscore", d["score"]) for d in docs], resp["lookalike"]


def _expected(vectors: np.ndarray, ids: list[str], colors: list[str], pid: str) -> tuple[list[str], np.ndarray]:
    target = vectors[ids.index(pid)]
    keep = np.array([c == "red" and i != pid for i, c in zip(ids, colors)])
    sims = vectors[keep] @ target
    order = np.argsort(-sims, kind="stable")[:10]
    return [np.array(ids)[keep][o] for o in order], (1 + sims[order]) / 2


def _assert_exact_top10(got_ids, got_scores, want_ids, want_scores):
    assert got_ids == want_ids
    assert np.allclose(got_scores, want_scores, atol=1e-5)


def test_a_hot_filter_is_packed_on_its_second_use_and_answers_stay_exact(env):
    svc, _, _ = env
    ids = [d["id"] for d in DOCS]
    colors = [d["color_s"] for d in DOCS]
    seen = []
    for pid in ("p0001", "p0007", "p0013", "p4999"):
        got_ids, got_scores, plan = _similar(svc, pid)
        assert plan["mode"] == "exact", plan
        seen.append(plan.get("vectors"))
        _assert_exact_top10(got_ids, got_scores, *_expected(VECTORS, ids, colors, pid))
    assert seen == [
        "scattered: the filter is packed on its next use",
        "3,000 vectors of the filter, packed in int8 now",
        "3,000 vectors of the filter, packed in int8",
        "3,000 vectors of the filter, packed in int8",
    ], seen
    # a request may ask for the scan in place (to compare): the same answer, nothing said
    # (k 25 for the other: more than Solr's result cache keeps of the first, so it is searched)
    got_ids, got_scores, plan = _similar(svc, "p0021", **{"lookalike.filterVectors": "false"})
    assert "vectors" not in plan
    packed_ids, packed_scores, plan = _similar(svc, "p0021", k=25)
    assert plan["vectors"] == "3,000 vectors of the filter, packed in int8"
    assert (packed_ids[:10], packed_scores[:10]) == (got_ids, got_scores)  # bit for bit, as JSON floats


def test_a_commit_starts_an_empty_cache_and_the_new_product_is_found(env):
    svc, admin, name = env
    for pid in ("p0100", "p0101"):  # the filter is packed in this searcher
        _similar(svc, pid)
    assert _similar(svc, "p0102")[2]["vectors"] == "3,000 vectors of the filter, packed in int8"
    twin = {**DOCS[102], "id": "twin", "group": "twin", "color_s": "red"}
    admin.add(name, [twin], commit=True)
    got_ids, _, plan = _similar(svc, "p0102")
    assert plan["vectors"] == "scattered: the filter is packed on its next use"
    assert got_ids[0] == "twin"  # the same vector: similarity 1
    got_ids, got_scores, plan = _similar(svc, "p0103")
    assert plan["vectors"] == "3,001 vectors of the filter, packed in int8 now"
    ids = [d["id"] for d in DOCS] + ["twin"]
    colors = [d["color_s"] for d in DOCS] + ["red"]
    vectors = np.vstack([VECTORS, VECTORS[102]])
    _assert_exact_top10(got_ids, got_scores, *_expected(vectors, ids, colors, "p0103"))


def test_a_narrow_filter_is_scanned_in_place(env):
    svc = env[0]
    blue = [{"field": "color", "values": ["blue"]}]
    for pid in ("p0003", "p0004", "p0008"):  # not one id twice: Solr's result cache would answer
        params = build_params(SimilarRequest(id=pid, k=10, filters=blue, in_stock=True).to_search(),
                              svc.schema(), mode="auto", in_solr=True)
        plan = svc.client.select(svc.collection, params)["lookalike"]
        assert plan["mode"] == "exact"
        # 2,000 blue products: under the floor, never packed, and nothing said about it
        assert "vectors" not in plan, plan


def test_the_api_reason_says_how_each_shard_read_the_vectors(env, solr, collection_factory):
    svc = env[0]
    for pid in ("p0040", "p0041"):
        svc.similar(SimilarRequest(id=pid, k=10, filters=RED))
    resp = svc.similar(SimilarRequest(id="p0042", k=10, filters=RED))
    assert resp.mode == "exact"
    red = int(resp.mode_reason.split("filters leave ")[1].split()[0])  # 3,000 (3,001 after the twin)
    assert resp.mode_reason.endswith(f"): exact scan; {red:,} vectors of the filter, packed in int8"), resp.mode_reason

    # two shards: each says its own (the docs of one catalog twice over, so each shard has
    # more red products than the floor)
    name = collection_factory(dims=DIMS, shards=2)
    twice = DOCS + [{**d, "id": d["id"] + "b", "group": d["id"] + "b"} for d in DOCS]
    solr.client.add(name, twice, commit=True)
    client = SolrClient(solr.settings, role="search")
    try:
        two = SearchService(solr.settings, client, collection=name)
        for pid in ("p0040", "p0041"):
            two.similar(SimilarRequest(id=pid, k=10, filters=RED))
        resp = two.similar(SimilarRequest(id="p0042", k=10, filters=RED))
    finally:
        client.close()
    parts = resp.mode_reason.split("; ")
    assert len(parts) == 2 and all(": exact scan, " in p for p in parts), parts
    packed = [int(p.split("exact scan, ")[1].split()[0].replace(",", "")) for p in parts]
    assert sum(packed) == 2 * 3000 and all(p.endswith("vectors of the filter, packed in int8") for p in parts), parts


def test_a_node_started_with_no_budget_packs_nothing(tmp_path):
    """LOOKALIKE_FILTER_VECTORS_MB=0: the launcher passes it to the node, and the cache packs
    nothing (the same exact answers, read in place)."""
    from lookalike.settings import Settings
    from lookalike.solr import cluster, node

    port = node.free_base_port(1)
    settings = Settings(data_dir=tmp_path, filter_vectors_mb=0, solr_url=f"http://127.0.0.1:{port}/solr")
    cluster.start(settings, nodes=1, port=port, heap="512m")
    try:
        admin = SolrClient(settings, role="admin")
        cloud.upload_base_configsets(admin)
        cloud.create_collection(admin, "nobudget", dims=DIMS, shards=1)
        admin.add("nobudget", DOCS, commit=True)
        svc = SearchService(settings, admin, collection="nobudget")
        ids = [d["id"] for d in DOCS]
        colors = [d["color_s"] for d in DOCS]
        for pid in ("p0001", "p0007", "p0013"):
            got_ids, got_scores, plan = _similar(svc, pid)
            assert plan["mode"] == "exact" and "vectors" not in plan, plan
            _assert_exact_top10(got_ids, got_scores, *_expected(VECTORS, ids, colors, pid))
        admin.close()
    finally:
        cluster.stop(settings)


def test_a_wide_filter_asked_again_moves_from_hnsw_to_the_packed_exact_scan(solr, collection_factory):
    """Between the shard's crossover and the higher one of a packed filter, auto asks HNSW the
    first time (and marks the filter seen), then scans exactly, packing the filter, from the
    second request on: numpy's exact top 10. Asked with an exact hit count (every score wanted,
    so the copy would not help), the filter stays with HNSW."""
    n, dims = 30_000, 8
    rng = np.random.default_rng(12)
    vectors = rng.normal(size=(n, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    colors = ["blue" if i % 6 == 0 else "red" for i in range(n)]  # 25,000 red
    docs = [{"id": f"w{i:05d}", "group": f"w{i:05d}", "in_stock": True, "color_s": colors[i],
             "vector": vectors[i].tolist()} for i in range(n)]
    name = collection_factory(dims=dims, shards=1)
    solr.client.add(name, docs, commit=True)
    client = SolrClient(solr.settings, role="search")
    try:
        svc = SearchService(solr.settings, client, collection=name)
        ids = [d["id"] for d in docs]
        plans = []
        for pid in ("w00001", "w00002", "w00003"):
            got_ids, got_scores, plan = _similar(svc, pid)
            plans.append(plan)
            if plan["mode"] == "exact":
                _assert_exact_top10(got_ids, got_scores, *_expected(vectors, ids, colors, pid))
        crossover, packed = round(120 * n ** 0.5), round(200 * n ** 0.5)  # 20,785 and 34,641
        assert [p["mode"] for p in plans] == ["approx", "exact", "exact"], plans
        assert plans[0]["reason"].endswith(
            f"(> {crossover}, the crossover of its {n} documents): HNSW kNN"
            " (an exact scan of the packed filter if it is asked again)"), plans[0]
        assert plans[1]["reason"].startswith(
            f"filters leave 25000 products on this shard (<= {packed}, the crossover of its {n} documents"
            " for a filter packed in int8): exact scan"), plans[1]
        assert plans[1]["vectors"] == "25,000 vectors of the filter, packed in int8 now"
        assert plans[2]["vectors"] == "25,000 vectors of the filter, packed in int8"
        # every score wanted (no minExactCount): the copy would not help, HNSW as before
        params = build_params(SimilarRequest(id="w00004", k=10, filters=RED).to_search(), svc.schema(),
                              mode="auto", in_solr=True)
        params.pop("minExactCount")
        assert client.select(name, params)["lookalike"]["mode"] == "approx"
    finally:
        client.close()

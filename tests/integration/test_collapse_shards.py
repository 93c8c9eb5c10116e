"""One product per design on 1, 2 and 3 shards, with the catalog's own plain ids (issue 14, item 1).

Product collections route by ``_route_key`` (the product's group, set inside Solr), so a design's
variants share a shard and ``{!collapse field=group}`` sees them together. The expected answers
are computed with numpy (each design's best variant, the designs in order), never written by hand,
and every shard count must give the same answer as one shard. Lookups by id (real-time get, the
plugin's ``like``, delete, a partial update sent straight to Solr without any route) must still
reach the product wherever it lives.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests

from lookalike.solr import cloud
from query.client import SearchService
from query.models import SimilarRequest

pytestmark = pytest.mark.integration

DIMS = 8
GROUPS, VARIANTS = 30, 4
K = 8


def make_docs(seed: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    docs = []
    for g in range(GROUPS):
        centre = rng.normal(size=DIMS)
        for v in range(VARIANTS):
            x = centre + 0.35 * rng.normal(size=DIMS)
            x /= np.linalg.norm(x)
            # plain ids, numbered across designs: the id says nothing about the design
            docs.append({"id": f"p{g * VARIANTS + v:03d}", "group": f"design-{g:02d}", "price": float(g + v),
                         "color_s": ["red", "blue", "green"][v % 3], "vector": x.tolist()})
    rng.shuffle(docs)
    return docs


DOCS = make_docs()
BY_ID = {d["id"]: d for d in DOCS}


def expected_collapsed(query_id: str, keep=lambda d: True) -> list[str]:
    """Each other design's best variant (the query's own design keeps its best other variant), by cosine."""
    q = np.asarray(BY_ID[query_id]["vector"])
    best: dict[str, tuple[float, str]] = {}
    for d in DOCS:
        if d["id"] == query_id or not keep(d):
            continue
        s = float(q @ np.asarray(d["vector"]))
        if d["group"] not in best or (s, d["id"]) > best[d["group"]]:
            best[d["group"]] = (s, d["id"])
    return [i for _, i in sorted(best.values(), key=lambda r: (-r[0], r[1]))][:K]


@pytest.fixture(scope="module")
def collections(solr, tmp_path_factory):
    names = {}
    for shards in (1, 2, 3):
        name = f"t_collapse_{shards}sh_{np.random.default_rng().integers(1e9)}"
        cloud.create_collection(solr.client, name, dims=DIMS, shards=shards)
        solr.client.add(name, DOCS, commit=True)
        names[shards] = name
    yield names
    for name in names.values():
        cloud.delete_collection(solr.client, name)


def service(solr, name) -> SearchService:
    return SearchService(solr.settings, solr.client, collection=name)


@pytest.mark.parametrize("shards", [2, 3])
def test_a_designs_variants_share_one_shard(solr, collections, shards):
    name = collections[shards]
    seen: dict[str, str] = {}
    for shard in cloud.shard_names(solr.client, name):
        resp = solr.client.select(name, {"q": "*:*", "fl": "id,group", "rows": 1000, "shards": shard})
        for doc in resp["response"]["docs"]:
            assert seen.setdefault(doc["group"], shard) == shard, f"{doc['group']} is split over shards"
    assert len(seen) == GROUPS


@pytest.mark.parametrize("mode", ["approx", "exact"])
@pytest.mark.parametrize("shards", [1, 2, 3])
def test_collapse_shows_one_product_per_design_on_any_number_of_shards(solr, collections, shards, mode):
    svc, one = service(solr, collections[shards]), service(solr, collections[1])
    for query_id in sorted(BY_ID)[::9]:
        request = SimilarRequest(id=query_id, k=K, variants="collapse", mode=mode)
        got = [p.id for p in svc.similar(request).products]
        groups = [BY_ID[i]["group"] for i in got]
        assert len(groups) == len(set(groups)), (query_id, groups)
        assert got == expected_collapsed(query_id), query_id
        assert got == [p.id for p in one.similar(request).products]


@pytest.mark.parametrize("shards", [2, 3])
def test_collapse_under_a_filter_matches_numpy(solr, collections, shards):
    svc = service(solr, collections[shards])
    for query_id in sorted(BY_ID)[::17]:
        request = SimilarRequest(id=query_id, k=K, variants="collapse", mode="approx",
                                 filters=[{"field": "color", "values": ["red", "green"]}])
        got = [p.id for p in svc.similar(request).products]
        assert got == expected_collapsed(query_id, lambda d: d["color_s"] in ("red", "green")), query_id


@pytest.mark.parametrize("shards", [2, 3])
def test_every_lookup_by_id_still_finds_the_product(solr, collections, shards):
    name = collections[shards]
    svc = service(solr, name)
    for pid in sorted(BY_ID)[::7]:
        assert svc.get_product(pid).group == BY_ID[pid]["group"]
    got = cloud.real_time_get(solr.client, name, sorted(BY_ID), fl="id")
    assert set(got) == set(BY_ID)


def test_a_partial_update_straight_to_solr_reaches_the_product(solr, collection_factory):
    """Another system changing a price (no route key, plain Solr) updates the product in place."""
    name = collection_factory(dims=DIMS, shards=3)
    solr.client.add(name, DOCS, commit=True)
    for pid in sorted(BY_ID)[::11]:
        r = requests.post(f"{solr.url}/{name}/update", params={"commit": "true", "wt": "json"},
                          json=[{"id": pid, "price": {"set": 999.5}}], timeout=30, auth=solr.auth("indexer"))
        assert r.status_code == 200, r.text
        found = solr.client.select(name, {"q": f'id:"{pid}"', "fl": "id,price,group"})["response"]
        assert found["numFound"] == 1 and found["docs"][0]["price"] == 999.5
        assert found["docs"][0]["group"] == BY_ID[pid]["group"]
    assert solr.client.select(name, {"q": "*:*", "rows": 0})["response"]["numFound"] == len(DOCS)


def test_delete_by_one_id_reaches_its_shard(solr, collection_factory):
    name = collection_factory(dims=DIMS, shards=3)
    solr.client.add(name, DOCS, commit=True)
    victims = sorted(BY_ID)[:5]
    for pid in victims:  # one id per request: Solr sends it to every shard
        solr.client.post(f"{name}/update", {"commit": "true"}, json_body={"delete": pid})
    left = cloud.real_time_get(solr.client, name, sorted(BY_ID), fl="id")
    assert set(left) == set(BY_ID) - set(victims)

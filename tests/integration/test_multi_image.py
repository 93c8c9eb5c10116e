"""Several images per product against the real Solr (issue 17, item 1).

A hand-made catalog in a collection with three image fields (``vector``, ``vector_1``,
``vector_2``) on two shards: each product has one to three image vectors, close to its design's
own look plus noise, so that a product's images differ from each other. The expected answers
are computed here with numpy as the maximum over (query vector, product image) pairs, never
written by hand; the API must give them in approx and exact mode, one tile per product, with the
image that matched.
"""

from __future__ import annotations

import numpy as np
import pytest

import api_catalog
from lookalike.fields import image_vector_field
from lookalike.solr import cloud

pytestmark = pytest.mark.integration

DIMS = 16
N = 45
FIELDS = 3
unit = api_catalog.unit


def make_docs(seed=11):
    rng = np.random.default_rng(seed)
    docs, images = [], {}
    for i in range(N):
        look = rng.normal(size=DIMS)
        count = 1 + i % FIELDS
        vectors = [unit(look + 0.9 * rng.normal(size=DIMS)) for _ in range(count)]
        pid = f"p{i:02d}"
        doc = {"id": pid, "group": f"g{i:02d}", "colour_s": ("red", "blue", "green")[i % 3],
               "image": f"images/{pid}-0.png"}
        if count > 1:
            doc["images"] = [f"images/{pid}-{n}.png" for n in range(count)]
        for n, v in enumerate(vectors):
            doc[image_vector_field(n)] = v.tolist()
        docs.append(doc)
        images[pid] = np.stack(vectors)
    return docs, images


DOCS, IMAGES = make_docs()
COLOUR = {d["id"]: d["colour_s"] for d in DOCS}


def best(targets: np.ndarray, pid: str) -> tuple[float, int]:
    sims = IMAGES[pid] @ np.atleast_2d(targets).T
    return float(sims.max()), int(np.argmax(sims.max(axis=1)))


def ranking(targets: np.ndarray, exclude: str | None = None, only=None) -> list[str]:
    ids = [p for p in IMAGES if p != exclude and (only is None or only(p))]
    return sorted(ids, key=lambda p: (-best(targets, p)[0], p))


@pytest.fixture(scope="module")
def api(solr):
    name = f"t_multi_image_{np.random.default_rng().integers(1e9)}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=2, image_fields=FIELDS)
    solr.client.add(name, DOCS, commit=True)
    settings = solr.settings.model_copy(update={"alias": name})
    with api_catalog.http(settings) as client:
        yield client
    cloud.delete_collection(solr.client, name)


def ok(r):
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_a_photo_of_any_image_finds_its_product_and_says_which_image(api, mode):
    for pid in ("p01", "p02", "p05", "p08"):
        for n, vector in enumerate(IMAGES[pid]):
            body = ok(api.post("/api/search", json={"vector": vector.tolist(), "mode": mode, "k": 5}))
            top = body["products"][0]
            assert top["id"] == pid, (pid, n)
            assert top["matched_image"] == n
            assert top["images"][n] == f"images/{pid}-{n}.png"
            assert top["similarity"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_more_like_this_is_the_max_over_pairs_of_images(api, mode):
    for pid in ("p02", "p04", "p09"):  # three, two and one... images: p02 has 3, p04 2, p09 1
        body = ok(api.get(f"/api/products/{pid}/similar", params={"mode": mode, "k": 10}))
        got = [p["id"] for p in body["products"]]
        assert got == ranking(IMAGES[pid], exclude=pid)[:10]
        assert len(set(got)) == len(got)  # one tile per product
        for p in body["products"]:
            sim, image = best(IMAGES[pid], p["id"])
            assert p["similarity"] == pytest.approx(sim, abs=1e-4)
            assert p["matched_image"] == image


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_filters_pre_filter_every_image_clause(api, mode):
    target = IMAGES["p07"][0]
    body = ok(api.post("/api/search", json={"vector": target.tolist(), "mode": mode, "k": 8,
                                            "filters": [{"field": "colour", "values": ["blue"]}]}))
    got = [p["id"] for p in body["products"]]
    assert got == ranking(target, only=lambda p: COLOUR[p] == "blue")[:8]
    assert len(got) == 8  # the kNN clauses searched among blue products only


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_totals_and_facets_count_products_not_images(api, mode):
    target = IMAGES["p02"][1]
    threshold = 0.2
    body = ok(api.post("/api/search", json={"vector": target.tolist(), "mode": mode, "min_similarity": threshold,
                                            "facets": ["colour"], "k": 50}))
    expected = [p for p in IMAGES if best(target, p)[0] >= threshold]
    assert body["total"] == len(expected)
    assert sorted(p["id"] for p in body["products"]) == sorted(expected)
    counts = {b["value"]: b["count"] for b in body["facets"][0]["buckets"]}
    assert counts == {c: sum(COLOUR[p] == c for p in expected) for c in set(COLOUR[p] for p in expected)}

"""Attribute directions against the real Solr: "like this, but more floral" (issue 17, item 4).

A hand-made catalog: two categories with their own look (a shared offset per category) and a
print attribute whose floral value adds its own direction. The expected ranking is computed here
with numpy from the catalog's vectors (the category-centred mean of the floral products, added to
the example's vector), never written by hand; the API must return it in approx and exact mode,
and "more floral" must put more floral products in the top than the plain search does.
"""

from __future__ import annotations

import numpy as np
import pytest

import api_catalog
from lookalike.solr import cloud

pytestmark = pytest.mark.integration

DIMS = 16
N_PER_CATEGORY = 40


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def make_docs(seed=5):
    rng = np.random.default_rng(seed)
    look = {"dress": rng.normal(size=DIMS) * 1.5, "shirt": rng.normal(size=DIMS) * 1.5}
    floral = rng.normal(size=DIMS)
    docs = []
    for category in ("dress", "shirt"):
        for i in range(N_PER_CATEGORY):
            is_floral = i % 4 == 0
            v = look[category] + rng.normal(size=DIMS) + (1.2 * floral if is_floral else 0.0)
            docs.append({"id": f"{category[0]}{i:02d}", "group": f"{category}-{i:02d}", "category_s": category,
                         "print_s": "floral" if is_floral else "plain", "vector": unit(v).tolist()})
    return docs


DOCS = make_docs()
BY_ID = {d["id"]: d for d in DOCS}


def expected(target_id: str, weight: float, sign: float = 1.0, k: int = 10) -> list[str]:
    vecs = {d["id"]: unit(d["vector"]) for d in DOCS}
    cat_mean = {c: np.mean([vecs[d["id"]] for d in DOCS if d["category_s"] == c], axis=0) for c in ("dress", "shirt")}
    floral = [d for d in DOCS if d["print_s"] == "floral"]
    direction = unit(np.mean([vecs[d["id"]] - cat_mean[d["category_s"]] for d in floral], axis=0))
    target = unit(vecs[target_id] + sign * weight * direction)
    ranked = sorted((i for i in vecs if i != target_id), key=lambda i: (-float(vecs[i] @ target), i))
    return ranked[:k]


@pytest.fixture(scope="module")
def api(solr, tmp_path_factory):
    name = f"t_directions_{np.random.default_rng().integers(1e9)}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=2)
    solr.client.add(name, DOCS, commit=True)
    settings = solr.settings.model_copy(update={"alias": name})
    with api_catalog.http(settings) as client:
        yield client
    cloud.delete_collection(solr.client, name)


def ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["products"]]


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_more_floral_is_the_numpy_ranking_of_the_moved_target(api, mode):
    for target in ("d01", "s03"):
        got = ids(api.get(f"/api/products/{target}/similar",
                          params={"more": "print:floral", "direction_weight": 0.8, "mode": mode}))
        assert got == expected(target, 0.8), target
        plain = ids(api.get(f"/api/products/{target}/similar", params={"mode": mode}))
        floral = lambda xs: sum(BY_ID[i]["print_s"] == "floral" for i in xs)  # noqa: E731
        assert floral(got) > floral(plain), (target, got, plain)


def test_less_moves_the_other_way_and_post_search_takes_it_too(api):
    got = ids(api.post("/api/search", json={"like": ["d02"], "mode": "exact", "direction_weight": 0.6,
                                            "less": [{"field": "print", "values": ["floral"]}]}))
    assert got == expected("d02", 0.6, sign=-1.0)


@pytest.mark.parametrize("params, words", [
    ({"more": "print:nosuchprint"}, "no product has print nosuchprint"),
    ({"more": "colr:red"}, "colr"),
    ({"more": "price:1..5"}, "not a range"),
])
def test_bad_directions_are_400_with_a_sentence(api, params, words):
    r = api.get("/api/products/d01/similar", params=params)
    assert r.status_code == 400 and words in r.json()["error"], r.text


def test_the_cli_moves_the_target_too(api, solr, monkeypatch, capsys):
    import json

    from lookalike.cli import main

    monkeypatch.setenv("LOOKALIKE_SOLR_URL", solr.url)
    collection = api.app.state.services.settings.alias
    rc = main(["similar", "s05", "--collection", collection, "--more", "print=floral", "--direction-weight", "0.8",
               "--mode", "approx", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and [p["id"] for p in out["products"]] == expected("s05", 0.8)

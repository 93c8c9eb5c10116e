"""Explaining a match against the real Solr and the real model (issue 17, item 3).

The demo catalog indexed by the real reindex job; ``GET /api/products/{a}/explain/{b}`` must give
the similarity the search gives, the attribute values the two share (computed here from the
catalog), occlusion heat-maps in which the drawn product weighs more than the blank background
around it (found from the picture's own pixels), the closest of a propagation's examples, a
cached second answer, and clear 404/400s.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import api_catalog

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def real(solr, tmp_path_factory):
    with api_catalog.real_index(solr, tmp_path_factory.mktemp("explain"), "explain", count=20, dims=16) as built:
        yield built


@pytest.fixture(scope="module")
def api(real):
    settings, _, _ = real
    # no time budget to speak of: on a loaded machine the model's first batches are slow, and what
    # is checked here is the heat-maps (the budget has its own test)
    with api_catalog.http(settings.model_copy(update={"explain_budget_s": 3600.0})) as client:
        yield client


@pytest.fixture(scope="module")
def products(real):
    _, _, catalog = real
    return {p["id"]: p for p in (json.loads(line) for line in catalog.read_text().splitlines() if line.strip())}


def explain(api, a, b, **params):
    r = api.get(f"/api/products/{a}/explain/{b}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def product_cells(path, grid):
    """Per patch, the share of its pixels that belong to the drawing (far from the background colour)."""
    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.int32)
    background = px[2, 2]
    drawn = np.abs(px - background).max(axis=2) > 18
    h, w = drawn.shape
    ys, xs = np.linspace(0, h, grid + 1).round().astype(int), np.linspace(0, w, grid + 1).round().astype(int)
    return np.array([[drawn[ys[r]:ys[r + 1], xs[c]:xs[c + 1]].mean() for c in range(grid)] for r in range(grid)])


def test_similarity_shared_values_and_heatmaps_where_the_product_is(api, real, products):
    _, _, catalog = real
    a = "demo-0002-1"  # a dress drawn dark on a light background: its pixels say where the product is
    similar = api.get(f"/api/products/{a}/similar", params={"k": 3, "mode": "exact"}).json()["products"]
    b = similar[0]["id"]
    body = explain(api, a, b)
    assert body["similarity"] == pytest.approx(similar[0]["similarity"], abs=1e-4)
    pa, pb = products[a], products[b]
    skip = {"id", "image", "images", "title", "group", "price", "in_stock"}
    expected = {k: v for k, v in pa.items() if k not in skip and k in pb and not isinstance(v, list) and pb[k] == v}
    expected.update({k: [x for x in v if x in pb[k]] for k, v in pa.items()
                     if isinstance(v, list) and k in pb and any(x in pb[k] for x in v)})
    assert body["shared"] == expected and "category" in body["shared"]
    assert [(h["product"], h["image"]) for h in body["heatmaps"]] == [(a, 0), (b, 0)]
    for h in body["heatmaps"]:
        weights = np.asarray(h["weights"])
        grid = h["grid"]
        assert weights.shape == (grid, grid) and (weights >= 0).all()
        cells = product_cells(catalog.parent / products[h["product"]]["image"], grid)
        on_product, on_background = weights[cells > 0.6], weights[cells < 0.01]
        assert on_product.size and on_background.size
        assert on_product.mean() > 2 * on_background.mean(), (h["product"], weights.round(3), cells.round(2))
        png = Image.open(io.BytesIO(base64.b64decode(h["png"].removeprefix("data:image/png;base64,"))))
        assert png.format == "PNG" and max(png.size) == 256
    again = explain(api, a, b)
    assert again["cached"] is True and again["heatmaps"] == body["heatmaps"]


def test_a_candidate_is_told_which_example_it_resembles_most(api):
    a = "demo-0003-1"
    examples = ["demo-0003-2", "demo-0000-1", "demo-0002-1"]
    body = explain(api, a, examples[1], example=examples)
    sims = {}
    for e in examples:
        sims[e] = explain(api, a, e)["similarity"]
    assert [m["id"] for m in body["examples"]] == sorted(examples, key=lambda e: -sims[e])
    assert body["closest_example"]["id"] == max(sims, key=sims.get) == "demo-0003-2"


def test_the_time_budget_leaves_the_heatmap_that_would_overrun_it_out_and_says_so(real):
    settings, _, _ = real
    with api_catalog.http(settings.model_copy(update={"explain_budget_s": 1e-9})) as client:
        body = explain(client, "demo-0001-1", "demo-0001-2")
    # the first heat-map always comes; the second would end past the budget, judged by the first's cost
    assert [h["product"] for h in body["heatmaps"]] == ["demo-0001-1"]
    assert len(body["notes"]) == 1 and "time budget" in body["notes"][0] and "demo-0001-2" in body["notes"][0]
    assert body["similarity"] > 0.5


def test_bad_ids_are_404_and_400(api):
    r = api.get("/api/products/demo-0001-1/explain/nope")
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = api.get("/api/products/demo-0001-1/explain/demo-0001-1")
    assert r.status_code == 400 and "two different products" in r.json()["error"]
    r = api.get("/api/products/demo-0001-1/explain/" + "x" * 600)
    assert r.status_code == 400
    r = api.get("/api/products/demo-0001-1/explain/demo-0001-2", params={"example": ["demo-0000-1", "demo-0000-1"]})
    assert r.status_code == 400 and "twice" in r.json()["error"]

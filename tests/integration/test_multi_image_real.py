"""Several images per product end to end: the real reindex job (pretrained EfficientNet-Lite0,
PCA fitted on every image), the real Solr and the photo path (issue 17, item 1).

A demo catalog whose products each have a front, a back (mirrored, on another background) and a
detail (the middle, enlarged). Uploading any of a product's three pictures must find that
product first and say which picture matched; the answer has one tile per product; the image
route serves each picture.
"""

from __future__ import annotations

import json

import pytest

import api_catalog
from lookalike.solr import cloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 18


real, api, products = api_catalog.real_fixtures("multi", count=COUNT, dims=16, images=3)


def test_the_index_has_one_document_and_three_vector_fields_per_product(solr, real):
    _, summary, _ = real
    assert summary.indexed == COUNT
    assert cloud.image_field_count(solr.client, summary.collection) == 3
    assert any(f"{3 * COUNT} images of {COUNT} products" in w for w in summary.warnings), summary.warnings


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_a_photo_of_any_of_its_images_finds_the_product(api, real, products, mode):
    _, _, catalog = real
    for product in products[::5]:
        for n, ref in enumerate(product["images"]):
            r = api.post("/api/search/image", params={"mode": mode, "k": 6},
                         files={"file": ("photo.jpg", (catalog.parent / ref).read_bytes(), "image/jpeg")})
            assert r.status_code == 200, r.text
            found = r.json()["products"]
            assert found[0]["id"] == product["id"], (product["id"], ref)
            assert found[0]["matched_image"] == n, (product["id"], ref)
            assert found[0]["similarity"] == pytest.approx(1.0, abs=2e-3)
            assert len({p["id"] for p in found}) == len(found)  # one tile per product


def test_more_like_this_counts_products_and_the_image_route_serves_each_picture(api, real, products):
    _, _, catalog = real
    product = products[3]
    r = api.get(f"/api/products/{product['id']}/similar", params={"k": COUNT - 1, "candidates": COUNT - 1,
                                                                  "facet": "category"})
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [p["id"] for p in body["products"]]
    assert len(ids) == len(set(ids)) == COUNT - 1 == body["total"]
    assert sum(b["count"] for b in body["facets"][0]["buckets"]) == COUNT - 1
    for p in body["products"]:
        assert 0 <= p["matched_image"] < 3 and len(p["images"]) == 3
    for n, ref in enumerate(product["images"]):
        got = api.get(f"/images/{product['id']}", params={"n": n})
        assert got.status_code == 200
        assert got.content == (catalog.parent / ref).read_bytes()
    assert api.get(f"/images/{product['id']}", params={"n": 3}).status_code == 404

"""Search by photo through the API, with the real model and the PCA stored with the index.

The index is built by the real reindex job from a small demo catalog. Uploading a catalog
image must land where that product's stored vector is: itself first with similarity ~1, then
the same neighbours, with the same similarities, as "similar to this product".
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

import api_catalog

pytestmark = [pytest.mark.integration, pytest.mark.slow]


real, api, products = api_catalog.real_fixtures("upload")


def upload(api, data: bytes, name: str = "photo.jpg", **params):
    return api.post("/api/search/image", params={"mode": "approx", **params},
                    files={"file": (name, data, "application/octet-stream")})


def test_a_catalog_photo_finds_its_product_then_the_same_neighbours(api, real, products):
    _, _, catalog = real
    product = products[5]
    data = (catalog.parent / product["image"]).read_bytes()
    r = upload(api, data, k=6)
    assert r.status_code == 200, r.text
    found = r.json()["products"]
    assert found[0]["id"] == product["id"]
    assert found[0]["similarity"] == pytest.approx(1.0, abs=2e-3)

    by_id = api.get(f"/api/products/{product['id']}/similar", params={"k": 5, "mode": "approx"}).json()["products"]
    assert [p["id"] for p in found[1:]] == [p["id"] for p in by_id]
    for a, b in zip(found[1:], by_id):
        assert a["similarity"] == pytest.approx(b["similarity"], abs=2e-3)


def test_the_same_pixels_in_another_format_give_the_same_answer(api, real, products):
    _, _, catalog = real
    product = products[9]
    jpeg = (catalog.parent / product["image"]).read_bytes()
    png = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(png, format="PNG")
    a = upload(api, jpeg, k=4).json()["products"]
    b = upload(api, png.getvalue(), "photo.png", k=4).json()["products"]
    assert [p["id"] for p in a] == [p["id"] for p in b]
    assert b[0]["id"] == product["id"]


def test_upload_with_filters_and_facets(api, real, products):
    _, _, catalog = real
    product = products[0]
    colour = product["color"]
    data = (catalog.parent / product["image"]).read_bytes()
    r = upload(api, data, k=10, filter=f"color:{colour}", facet="category")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["products"] and all(p["attributes"]["color"] == colour for p in answer["products"])
    expected = sum(1 for p in products if p["color"] == colour)
    assert answer["total"] == expected
    facet = answer["facets"][0]
    assert facet["name"] == "category"
    assert sum(b["count"] for b in facet["buckets"]) == expected


def test_health_reports_the_model_and_pca_manifest_without_warnings(api, real, products):
    settings, summary, catalog = real
    assert upload(api, (catalog.parent / products[0]["image"]).read_bytes()).status_code == 200  # loads the model
    h = api.get("/api/health").json()
    assert h["ok"] is True, h["problems"]
    assert h["collection"] == summary.collection
    assert h["warnings"] == []
    assert h["index"]["random_weights"] is False
    assert h["pca"]["version"] == summary.pca_version
    assert h["model"]["model"] == "efficientnet_lite0" and h["model"]["loaded"] is True
    assert h["model"]["weights_sha256"] == h["index"]["weights_sha256"]


def test_an_upload_filter_value_cannot_choose_its_own_value(api, real, products):
    _, _, catalog = real
    product = products[5]
    data = (catalog.parent / product["image"]).read_bytes()
    category = product["category"]
    r = upload(api, data, k=6, filter=f"category:${{x:{category}}}")
    assert r.status_code == 200 and r.json()["products"] == [], r.text
    control = upload(api, data, k=6, filter=f"category:{category}").json()
    assert control["products"] and control["products"][0]["id"] == product["id"]


def test_a_full_decoder_answers_503_with_retry_after_and_frees_up(api, real, products):
    _, _, catalog = real
    data = (catalog.parent / products[0]["image"]).read_bytes()
    slots = api.app.state.services.embedder._decodes
    held = [slots.acquire(blocking=False) for _ in range(real[0].max_concurrent_decodes)]
    assert all(held)  # every decode slot taken, as by as many slow uploads
    try:
        r = upload(api, data, k=3)
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert "being decoded" in r.json()["error"]
    finally:
        for _ in held:
            slots.release()
    assert upload(api, data, k=3).status_code == 200


def test_a_large_png_is_decoded_reduced_and_the_bomb_error_quotes_our_limit(api, real, tmp_path):
    from indexer.images import DECODE_MAX_SIDE, decode_image

    settings = real[0]
    buf = io.BytesIO()
    Image.new("RGB", (6300, 6300), (200, 30, 30)).save(buf, "PNG")
    big = buf.getvalue()
    assert len(big) < 200_000 and 6300 * 6300 < settings.max_image_pixels
    decoded = decode_image(big, settings)  # what the upload route embeds: never the 6300 px picture
    assert max(decoded.size) < 2 * DECODE_MAX_SIDE
    assert upload(api, big, name="big.png", k=3).status_code == 200

    buf = io.BytesIO()
    Image.new("1", (14000, 14000)).save(buf, "PNG")  # 196 Mpx: over Pillow's own bomb limit too
    r = upload(api, buf.getvalue(), name="bomb.png")
    assert r.status_code == 413
    assert f"{settings.max_image_pixels:,}" in r.json()["error"] and "178,956,970" not in r.json()["error"]

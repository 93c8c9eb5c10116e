"""The storefront in headless Chromium: browse, click a product, see similar products with
scores, filter by a facet value, search by text, and search by an uploaded photo."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

READY = "#grid[data-state=ready]"
TIMEOUT_MS = 60_000  # the first photo loads the model


def grid_ids(page) -> list[str]:
    return page.locator(f"{READY} .card").evaluate_all("cards => cards.map(c => c.dataset.id)")


def scores(page) -> list[float]:
    return [float(s) for s in page.locator(f"{READY} .card .score").all_inner_texts()]


def wait_ready(page) -> None:
    page.wait_for_selector(f"{READY} .card", timeout=TIMEOUT_MS)


def test_browse_click_filter_search_and_upload(storefront, page):
    base, _settings, catalog = storefront
    products = {p["id"]: p for p in map(json.loads, catalog.read_text().splitlines()) if p}

    # 1. the catalog grid: by default one product per design (the first by id), in id order
    page.goto(base + "/")
    wait_ready(page)
    heads = sorted({p["group"]: i for i, p in sorted(products.items(), reverse=True)}.values())
    assert grid_ids(page) == heads[:24]
    assert page.locator("#timing").inner_text() == f"{len(heads)} products"
    # every variant, in id order
    page.goto(base + "/#/?variants=include")
    wait_ready(page)
    shown = grid_ids(page)
    assert shown == sorted(products)[: len(shown)] and len(shown) == min(24, len(products))
    assert page.locator("#warning").is_hidden()  # a real model: no random-weights warning

    # 2. click a product: its details, and similar products with cosine scores, best first
    clicked = shown[3]
    page.locator(f".card[data-id='{clicked}']").click()
    page.wait_for_selector(f"#focus[data-id='{clicked}']")
    wait_ready(page)
    similar = grid_ids(page)
    assert similar and clicked not in similar
    got = scores(page)
    assert len(got) == len(similar) and all(-1.0 <= s <= 1.0 for s in got)
    assert got == sorted(got, reverse=True)
    assert "variants=include" in page.url  # the shopper's choices follow the click

    # 2b. the next page of similar products continues the ranking
    page.click("#next")
    page.wait_for_selector("#page-info:text-is('Page 2 of 2')")
    wait_ready(page)
    page2 = grid_ids(page)
    assert page2 and not set(page2) & set(similar) and clicked not in page2
    assert max(scores(page)) <= min(got) + 1e-9
    page.click("#prev")
    page.wait_for_selector("#page-info:text-is('Page 1 of 2')")
    wait_ready(page)
    assert grid_ids(page) == similar

    # 3. a facet value: the grid keeps only products with it, as many as the facet counted
    facet = page.locator(".facet[data-facet=color] li button").first
    value, count = facet.get_attribute("data-value"), int(facet.locator(".count").inner_text())
    facet.click()
    page.wait_for_selector(f"#active-filters li button:has-text('color: {value}')")
    wait_ready(page)
    filtered = grid_ids(page)
    assert len(filtered) == min(count, 24)
    assert all(products[i]["color"] == value for i in filtered)
    assert page.locator(f".facet[data-facet=color] li button.on[data-value='{value}']").count() == 1

    # 4. the same, checked against the API
    api = requests.get(f"{base}/api/products/{clicked}/similar",
                       params={"k": 24, "filter": f"color:{value}"}, timeout=30).json()
    assert filtered == [p["id"] for p in api["products"]]

    # 5. text search
    word = products[clicked]["category"]
    page.fill("#text-input", word)
    page.press("#text-input", "Enter")
    page.wait_for_selector(f"#results-title:has-text('{word}')")
    wait_ready(page)
    assert any(products[i]["category"] == word for i in grid_ids(page))

    # 6. upload a catalog photo: its own product comes first, scored ~1
    photo_id = sorted(products)[7]
    page.set_input_files("#photo-input", str(catalog.parent / products[photo_id]["image"]))
    page.wait_for_selector("#results-title:has-text('photo')")
    wait_ready(page)
    assert grid_ids(page)[0] == photo_id
    assert scores(page)[0] == pytest.approx(1.0, abs=0.005)

    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert page.js_errors == []


def test_unknown_product_id_shows_the_api_sentence_and_no_stale_paging(storefront, page):
    base, _, _ = storefront
    page.goto(base + "/#/?page=2&variants=include")
    wait_ready(page)
    assert page.locator("#pager").is_visible()
    page.goto(base + "/#/product/no-such-product?page=3")
    page.wait_for_selector("#error:not([hidden])")
    assert "no-such-product" in page.locator("#error").inner_text()
    assert page.locator("#results-title").inner_text() == "Product not found"
    assert page.locator("#pager").is_hidden() and page.locator("#grid .card").count() == 0
    assert page.locator("#grid a[href='#/']").inner_text() == "Browse the catalog"
    assert page.locator("#focus").is_hidden()
    assert page.js_errors == []


def test_hybrid_search_combines_the_text_with_the_product_shown(storefront, page):
    base, _, catalog = storefront
    products = {p["id"]: p for p in map(json.loads, catalog.read_text().splitlines()) if p}
    shown = sorted(products)[2]
    page.goto(f"{base}/#/product/{shown}?variants=include")
    page.wait_for_selector(f"{READY} .card .score", timeout=TIMEOUT_MS)
    assert page.locator("#hybrid-toggle").is_visible() and page.locator("#hybrid").is_checked()
    word = products[shown]["pattern"]
    page.fill("#text-input", word)
    page.press("#text-input", "Enter")
    page.wait_for_selector("#results-title:has-text('looking like this product')")
    wait_ready(page)
    assert page.url.endswith(f"/search/{word}/like/{shown}?variants=include")
    hybrid = grid_ids(page)
    assert hybrid and shown not in hybrid
    api = requests.post(f"{base}/api/search", json={"like": [shown], "text": word, "k": 24}, timeout=30).json()
    assert hybrid == [p["id"] for p in api["products"]]
    assert page.locator("#results-hint").inner_text().startswith("Ordered by image similarity plus text")
    assert page.js_errors == []

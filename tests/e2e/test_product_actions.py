"""The product page's extras in headless Chromium: "like this, but more floral" (the API's more=)
and "why similar?" (the explanation panel with its heat-maps), on a demo catalog indexed for real.

The catalog is large enough to hold floral designs (the demo's patterns come in turn by design,
floral from the 29th design on). "More floral" must change the similar products and show more
floral ones than the plain page did; the chosen direction is in the URL, so a reload keeps it.
"""

from __future__ import annotations

import json

import pytest

import api_catalog

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

READY = "#grid[data-state=ready]"
TIMEOUT_MS = 90_000  # the first explanation loads the model


@pytest.fixture(scope="module")
def store(solr, tmp_path_factory, serve_app):
    from app.web import create_app

    root = tmp_path_factory.mktemp("e2e-steer")
    with api_catalog.real_index(solr, root, "steer", count=170, dims=32) as (settings, _summary, catalog):
        # heat-maps without a time budget: the model's first batches are slow on a loaded machine
        with serve_app(create_app(settings.model_copy(update={"explain_budget_s": 3600.0})), "steer") as base:
            products = {p["id"]: p for p in map(json.loads, catalog.read_text().splitlines()) if p}
            yield base, products


def grid_ids(page) -> list[str]:
    page.wait_for_selector(f"{READY} .card", timeout=TIMEOUT_MS)
    return page.locator(f"{READY} .card").evaluate_all("cards => cards.map(c => c.dataset.id)")


def test_more_floral_changes_the_similar_products(store, page, tmp_path):
    base, products = store
    floral = {i for i, p in products.items() if p["pattern"] == "floral"}
    assert floral, "the demo catalog should hold floral designs"
    start = next(i for i, p in sorted(products.items()) if p["pattern"] == "solid" and p["category"] == "shirt")
    page.goto(f"{base}/#/product/{start}")
    before = grid_ids(page)
    page.wait_for_selector("#steer-value option[value='pattern:floral']", state="attached")
    page.select_option("#steer-value", "pattern:floral")
    page.click("#steer-more")
    page.wait_for_url("**more=pattern%3Afloral**")
    page.wait_for_selector(".steer-chosen [data-steer='more:pattern:floral']")
    after = grid_ids(page)
    assert after != before
    assert sum(i in floral for i in after) > sum(i in floral for i in before), (before, after)
    page.screenshot(path=str(tmp_path / "more-floral.png"), full_page=True)
    page.reload()
    assert grid_ids(page) == after  # the direction is in the URL
    page.click(".steer-chosen [data-steer='more:pattern:floral'] button")
    page.wait_for_function("() => !location.hash.includes('more=')")
    assert grid_ids(page) == before
    assert not page.js_errors


def test_why_similar_shows_the_similarity_shared_values_and_heatmaps(store, page, tmp_path):
    base, products = store
    start = sorted(products)[10]
    page.goto(f"{base}/#/product/{start}")
    first = grid_ids(page)[0]
    page.click(f".card[data-id='{first}'] .why")
    page.wait_for_selector("#explain[data-state=ready]", timeout=TIMEOUT_MS)
    assert page.url.endswith(f"/product/{start}")  # the button explains; it does not follow the tile's link
    assert f"Why {first} looks like {start}" in page.locator("#explain h2").text_content()
    shown = float(page.locator("#explain .explain-sim").inner_text())
    tile = float(page.locator(f".card[data-id='{first}'] .score").get_attribute("data-similarity"))
    assert shown == pytest.approx(tile, abs=1e-3)
    assert products[start]["category"] in page.locator("#explain .explain-shared").inner_text()
    heatmaps = page.locator("#explain .heatmaps img")
    assert heatmaps.count() == 2
    assert heatmaps.first.evaluate("img => img.complete && img.naturalWidth") == 256
    page.screenshot(path=str(tmp_path / "why-similar.png"), full_page=True)
    page.locator("#explain button:text('close')").click()
    assert page.locator("#explain").is_hidden()
    assert not page.js_errors

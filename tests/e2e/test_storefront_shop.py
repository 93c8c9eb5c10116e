"""The storefront as a shopper uses it, in headless Chromium over a real index: two categories
chosen at once on a phone, sort / price / in-stock, the URL keeping page and filters across reload
and back, and the advanced switch that keeps search internals and provenance out of a shopper's way.

Expected products come from the catalog file and from the API the page calls, never written by hand.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

READY = "#grid[data-state=ready]"
TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}


def grid_ids(page) -> list[str]:
    return page.locator(f"{READY} .card").evaluate_all("cards => cards.map(c => c.dataset.id)")


def grid_prices(page) -> list[float]:
    texts = page.locator(f"{READY} .card .price").all_inner_texts()
    return [float(re.sub(r"[^0-9.]", "", t)) for t in texts]


def wait_ready(page) -> None:
    page.wait_for_selector(f"{READY} .card", timeout=TIMEOUT_MS)


def wait_hash(page, pattern: str) -> None:
    """Wait for the URL's hash to match (a hash change is no page load to wait for)."""
    page.wait_for_function("p => new RegExp(p).test(location.hash)", arg=pattern, timeout=TIMEOUT_MS)


def click_and_wait(page, selector: str) -> None:
    """Click something that starts a new answer and wait for that answer (not the old grid)."""
    page.evaluate("document.getElementById('grid').dataset.state = 'stale'")
    page.click(selector)
    wait_ready(page)


def catalog(storefront) -> dict[str, dict]:
    return {p["id"]: p for p in map(json.loads, storefront[2].read_text().splitlines()) if p}


def facet_counts(page, field: str) -> dict[str, int]:
    rows = page.locator(f".facet[data-facet={field}] li button").evaluate_all(
        "bs => bs.map(b => [b.dataset.value, Number(b.querySelector('.count').textContent)])")
    return dict(rows)


def browse_api(base: str, **params) -> dict:
    r = requests.get(f"{base}/api/products", params={"per_page": 24, **params}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()


def test_two_categories_at_once_on_a_phone(storefront, phone, tmp_path):
    base, _settings, _ = storefront
    products = catalog(storefront)
    page = phone
    page.goto(base + "/")
    wait_ready(page)
    # it fits: nothing wider than the screen, the Search button on it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("#text-form button[type=submit]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # the filters wait behind a button, and open on a tap
    assert page.locator("#sidebar").is_hidden()
    page.tap("#filters-toggle")
    assert page.locator(".facet[data-facet=category]").is_visible()
    before = facet_counts(page, "category")
    first, second = sorted(before)[:2]

    click_and_wait(page, f".facet[data-facet=category] button[data-value='{first}']")
    # the category facet still offers the others, counted as if the category were not chosen
    assert facet_counts(page, "category") == before
    click_and_wait(page, f".facet[data-facet=category] button[data-value='{second}']")
    chosen = page.locator(".facet[data-facet=category] button[aria-checked=true]").evaluate_all(
        "bs => bs.map(b => b.dataset.value)")
    assert sorted(chosen) == [first, second]
    shown = grid_ids(page)
    assert shown and {products[i]["category"] for i in shown} == {first, second}
    api = browse_api(base, filter=[f"category:{first}", f"category:{second}"], variants="collapse")
    assert shown == [p["id"] for p in api["products"]]
    assert page.locator("#filters-count").inner_text() == "2"
    page.screenshot(path=str(tmp_path / "phone-two-categories.png"), full_page=True)

    # a product's page on the phone: the product first, then the filters button, then its similar products
    click_and_wait(page, f"#grid .card[data-id='{shown[0]}']")
    focus = page.locator("#focus").bounding_box()
    assert focus["y"] < page.locator("#filters-toggle").bounding_box()["y"] < page.locator("#grid").bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.js_errors == []


def test_sort_by_price_price_range_and_in_stock(storefront, page):
    base, _settings, _ = storefront
    products = catalog(storefront)
    page.goto(base + "/#/?variants=include")
    wait_ready(page)
    page.select_option("#sort", "price_asc")
    wait_ready(page)
    wait_hash(page, r"sort=price_asc")
    wait_ready(page)
    prices = grid_prices(page)
    assert prices == sorted(prices) and prices[0] == min(p["price"] for p in products.values())

    page.check("#in-stock")
    wait_hash(page, r"stock=1")
    wait_ready(page)
    assert all(products[i]["in_stock"] for i in grid_ids(page))
    cheap, dear = sorted(p["price"] for p in products.values())[len(products) // 4], 150
    page.fill("#price-min", str(cheap))
    page.fill("#price-max", str(dear))
    page.click("#price-form button")
    wait_hash(page, r"max=150")
    wait_ready(page)
    expected = sorted((i for i, p in products.items() if p["in_stock"] and cheap <= p["price"] <= dear),
                      key=lambda i: (products[i]["price"], i))
    assert grid_ids(page) == expected[:24]
    chips = page.locator("#active-filters li").all_inner_texts()
    assert any("in stock" in c for c in chips) and any("price" in c for c in chips)

    # similar products keep the choices; ordered by price, highest first
    click_and_wait(page, f"#grid .card[data-id='{expected[0]}']")
    page.select_option("#sort", "price_desc")
    wait_hash(page, r"sort=price_desc")
    wait_ready(page)
    shown = grid_ids(page)
    assert shown and expected[0] not in shown
    assert all(products[i]["in_stock"] and cheap <= products[i]["price"] <= dear for i in shown)
    prices = grid_prices(page)
    assert prices == sorted(prices, reverse=True)
    assert page.js_errors == []


def test_page_and_filters_survive_reload_and_the_back_button(storefront, page):
    base, _settings, _ = storefront
    page.goto(base + "/#/?variants=include")
    wait_ready(page)
    value = page.locator(".facet[data-facet=color] li button").first.get_attribute("data-value")
    click_and_wait(page, f".facet[data-facet=color] button[data-value='{value}']")
    one_filter = grid_ids(page)
    page.goto(base + "/#/?variants=include&sort=price_desc")  # two filters, two pages
    wait_ready(page)
    click_and_wait(page, "#next")
    page2 = grid_ids(page)
    info = page.locator("#page-info").inner_text()
    assert info.startswith("Page 2 of")

    page.reload()
    wait_ready(page)
    assert grid_ids(page) == page2 and page.locator("#page-info").inner_text() == info
    assert page.locator("#sort").input_value() == "price_desc"

    page.go_back()  # page 1 of the same choices
    page.wait_for_selector("#page-info:text-matches('^Page 1 of')")
    wait_ready(page)
    assert not set(grid_ids(page)) & set(page2)
    page.go_back()  # the color chosen before
    wait_hash(page, r"f=color")
    wait_ready(page)
    assert grid_ids(page) == one_filter
    assert page.locator(f".facet[data-facet=color] button[data-value='{value}']").get_attribute("aria-checked") == "true"
    assert page.js_errors == []


def test_advanced_switch_shows_search_internals_and_provenance(solr, storefront, page):
    base, settings, _ = storefront
    products = catalog(storefront)
    pid = sorted(products)[5]
    # a merchandiser's batch propagated an attribute to this product: who set it is provenance
    solr.client.add(settings.alias, [{"id": pid, "print_s": {"set": "hawaiian"},
                                      "print_src_s": {"set": "propagated:b-e2e"}}], commit=True)
    try:
        page.goto(f"{base}/#/product/{pid}")
        wait_ready(page)
        about = page.locator("#focus dl").inner_text()
        assert "hawaiian" in about and "propagated" not in about and "src" not in about
        assert page.locator("#mode").is_hidden() and page.locator("#min-sim").is_hidden()
        assert page.locator("#id-input").is_hidden() and page.locator("#focus .pid").count() == 0
        assert "Solr" not in page.locator("#timing").inner_text()

        page.check("#advanced")
        page.wait_for_selector("#focus .pid")
        wait_ready(page)
        assert "propagated:b-e2e" in page.locator("#focus dl").inner_text()
        assert page.locator("#mode").is_visible() and page.locator("#min-sim").is_visible()
        assert "Solr" in page.locator("#timing").inner_text()
        page.select_option("#mode", "exact")
        wait_hash(page, r"mode=exact")
        wait_ready(page)
        assert "exact" in page.locator("#timing").inner_text()

        page.reload()  # the switch is remembered
        wait_ready(page)
        assert page.locator("#advanced").is_checked() and page.locator("#mode").input_value() == "exact"
        page.uncheck("#advanced")
        wait_ready(page)
        assert page.locator("#mode").is_hidden() and "propagated" not in page.locator("#focus dl").inner_text()
    finally:
        solr.client.add(settings.alias, [{"id": pid, "print_s": {"set": None}, "print_src_s": {"set": None}}],
                        commit=True)
    assert page.js_errors == []


def test_no_console_errors_and_no_favicon_404(storefront, page):
    base, _settings, _ = storefront
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda msg: msg.type == "error" and failed.append(msg.text))
    page.goto(base + "/")
    page.wait_for_load_state("networkidle")
    wait_ready(page)
    assert requests.get(base + "/favicon.ico", timeout=10).status_code == 200
    assert failed == [] and page.js_errors == []


# -- /navigate: browse by look, in the store's clothes ------------------------------------------

NAV_READY = "#grid[data-state=ready]"


def nav_ids(page, kind: str) -> list[str]:
    page.wait_for_selector(f"{NAV_READY}[data-kind={kind}] .nav-card", timeout=TIMEOUT_MS)
    return page.locator(".nav-card").evaluate_all("cards => cards.map(c => c.dataset.id)")


def notes(page) -> list[float]:
    return [float(re.search(r"-?\d+(\.\d+)?$", t).group()) for t in page.locator(".nav-card .note").all_inner_texts()
            if re.search(r"\d$", t)]


def nav_click(page, selector: str, kind: str) -> list[str]:
    page.evaluate("document.getElementById('grid').dataset.state = 'stale'")
    page.click(selector)
    return nav_ids(page, kind)


def test_navigate_is_part_of_the_store_with_facet_filters_and_the_taste_kept(solr, storefront, page):
    from merch import clusters

    base, settings, _ = storefront
    products = catalog(storefront)
    clusters.build(settings, solr.client, settings.alias, k=4)

    page.goto(base + "/navigate")
    first = nav_ids(page, "start")
    assert first
    # the store's look and a way back to it; how stepping works, said once
    assert page.locator("link[href='/static/style.css']").count() == 1
    assert page.locator("header.topbar a.brand").get_attribute("href") == "/"
    assert page.locator("#back").get_attribute("href") == "/"
    assert "Click a picture" in page.locator("#how").inner_text()
    assert page.locator("input#filter").count() == 0  # no filter to type

    # a filter chosen from the facets
    page.wait_for_selector(".facet[data-facet=category] li button")
    cats = sorted(facet_counts(page, "category"))
    one, two = cats[0], cats[1]
    chosen = nav_click(page, f".facet[data-facet=category] button[data-value='{one}']", "start")
    assert chosen and {products[i]["category"] for i in chosen} == {one}

    # like a product, see the taste; it stays through the next filter change
    page.click(f".nav-card[data-id='{chosen[0]}'] .like")
    assert page.locator("#likes").inner_text().startswith("1 liked")
    assert page.locator(f".nav-card[data-id='{chosen[0]}'].liked").count() == 1
    tasted = nav_click(page, "#taste", "taste")
    assert tasted and chosen[0] not in tasted
    assert {products[i]["category"] for i in tasted} == {one}
    assert notes(page) and min(notes(page)) >= 0.0
    both = nav_click(page, f".facet[data-facet=category] button[data-value='{two}']", "taste")
    assert {products[i]["category"] for i in both} <= {one, two} and two in {products[i]["category"] for i in both}
    assert page.locator("#results-title").inner_text() == "Your taste"

    # a click on a picture steps to products that look like it; scores are never negative
    target = both[0]
    stepped = nav_click(page, f".nav-card[data-id='{target}'] .pic", "step")
    assert stepped and target not in stepped
    assert {products[i]["category"] for i in stepped} <= {one, two}
    assert min(notes(page)) >= 0.0
    assert target in page.locator("#trail").inner_text()

    page.click("#back")
    page.wait_for_url(base + "/")
    wait_ready(page)
    assert page.js_errors == []

"""The merchandiser page in headless Chromium: propose from two examples, review, accept a
candidate, apply it as a batch, then undo the batch - checked against Solr at each step."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import api_catalog
from merch.catalog import get_docs, iter_docs

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def merch_site(solr, tmp_path_factory, serve_app):
    from app.web import create_app
    from merch import identities

    root = tmp_path_factory.mktemp("e2e-merch")
    with api_catalog.real_index(solr, root, "e2emerch", count=40, dims=16) as (settings, summary, _catalog):
        token = identities.add(settings, "e2e-ann")
        with serve_app(create_app(settings), "merch") as base:
            yield base, settings, summary.collection, token


SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def examples_of(solr, collection):
    docs = list(iter_docs(solr.client, collection, fl="id,pattern_s,group"))
    pattern = Counter(d["pattern_s"] for d in docs).most_common(1)[0][0]
    examples = []
    for d in sorted(docs, key=lambda d: d["id"]):
        if d["pattern_s"] == pattern and all(d["group"] != e["group"] for e in examples):
            examples.append(d)
    return [e["id"] for e in examples[:2]]


def sign_in(page, base, token, tab="clusters"):
    page.goto(f"{base}/merch#tab={tab}")
    page.fill("#token", token)
    page.press("#token", "Tab")  # as a person does: the field's change event fires as it loses focus
    page.wait_for_selector("#who:has-text('signed in as e2e-ann')", timeout=TIMEOUT_MS)


def propose_in_page(page, examples, min_confidence: str) -> None:
    """Propose print=look-e2e from ``examples`` in the page and wait for its candidates."""
    page.fill("#p-attr", "print")
    page.fill("#p-value", "look-e2e")
    page.fill("#p-like", " ".join(examples))
    page.locator("#p-thr").evaluate(f"el => {{ el.value = '{min_confidence}'; el.dispatchEvent(new Event('input')); }}")
    page.click("#propose-form button")
    page.wait_for_selector("#candidates .card", timeout=TIMEOUT_MS)


def snapshot(solr, collection):
    return {d["id"]: d for d in iter_docs(solr.client, collection, fl="id,print_s,print_src_s")}


def test_accept_a_whole_proposal_apply_reload_and_undo(solr, merch_site, page):
    base, settings, collection, token = merch_site
    examples = examples_of(solr, collection)
    before = snapshot(solr, collection)
    sign_in(page, base, token, "propagate")
    propose_in_page(page, examples, "0.2")
    first = page.locator("#candidates .card").first
    assert first.get_attribute("data-id") not in examples
    text = first.inner_text()
    assert "confidence" in text and first.locator(".title").inner_text().strip()
    conf = float(first.locator(".score").inner_text())
    assert 0.2 <= conf <= 1.0
    # the count before confirming is every candidate, not the ones shown
    label = page.locator("#accept-all").inner_text()
    count = int(label.split()[2])
    shown = page.locator("#candidates .card").count()
    assert count >= shown
    page.click("#accept-all")
    assert f"Accept all {count} candidates" in page.locator("#confirm-text").inner_text()
    shot(page, "merch-accept-all-confirm")
    page.click("#confirm-yes")
    page.wait_for_selector(f"#apply:has-text('Apply {count} accepted')", timeout=TIMEOUT_MS)
    page.click("#apply")
    page.wait_for_selector("#proposal-batches li", timeout=TIMEOUT_MS)
    after = snapshot(solr, collection)
    tagged = {i for i, d in after.items() if d.get("print_s") == "look-e2e"}
    assert set(examples) <= tagged and len(tagged) == count + len(examples)
    # after a reload the page still says what was written: state from the server, not a toast
    page.reload()
    page.wait_for_selector("#proposal-batches li", timeout=TIMEOUT_MS)
    assert f"written to {count + len(examples)} products" in page.locator("#proposal-batches").inner_text()
    assert "look-e2e" in page.locator("#notice").inner_text()
    shot(page, "merch-applied-after-reload")
    page.click("#notice button[data-undo]")
    page.wait_for_selector("#notice.undone", timeout=TIMEOUT_MS)
    assert snapshot(solr, collection) == before
    assert page.js_errors == []


def test_resume_and_close_a_proposal(solr, merch_site, page):
    base, settings, collection, token = merch_site
    from merch import propagation

    examples = examples_of(solr, collection)
    p = propagation.propose(settings, solr.client, settings.alias, attribute="print", value="resumed-e2e",
                            positives=examples[:1], user="e2e-ann")
    sign_in(page, base, token, "propagate")
    row = page.locator(f"#proposals-table tr[data-id='{p.id}']")
    row.wait_for(timeout=TIMEOUT_MS)
    row.locator("button.resume").click()
    page.wait_for_selector("#proposal-title:has-text('print = resumed-e2e')", timeout=TIMEOUT_MS)
    assert f"proposal={p.id}" in page.url
    shot(page, "merch-resumed")
    page.click("#close-proposal")
    page.wait_for_selector("#proposal-title:has-text('(closed)')", timeout=TIMEOUT_MS)
    page.wait_for_function(f"!document.querySelector(\"#proposals-table tr[data-id='{p.id}']\")")
    assert propagation.load_proposal(settings, solr.client, p.id).state == "closed"
    assert page.js_errors == []


def test_cluster_members_are_browsable(solr, merch_site, page):
    base, settings, collection, token = merch_site
    sign_in(page, base, token)
    page.fill("#build-k", "2")
    page.click("#build-form button")
    page.wait_for_selector("#clusters-grid .card", timeout=TIMEOUT_MS)
    card = page.locator("#clusters-grid .card").first
    cid = card.get_attribute("data-cluster")
    card.locator(".members-btn").click()
    page.wait_for_selector("#members-grid .card", timeout=TIMEOUT_MS)
    shown = page.locator("#members-grid .card").evaluate_all("els => els.map(e => e.dataset.id)")
    members = sorted(d["id"] for d in iter_docs(solr.client, collection, fl="id", fq=[f"cluster:{cid}"]))
    assert shown == members[:48]
    shot(page, "merch-cluster-members")
    assert page.js_errors == []


def test_review_accept_apply_and_undo_in_the_page(solr, merch_site, page):
    base, settings, collection, token = merch_site
    examples = examples_of(solr, collection)
    sign_in(page, base, token)
    page.click("nav button[data-tab=propagate]")
    propose_in_page(page, examples, "0")
    first = page.locator("#candidates .card").first
    chosen = first.get_attribute("data-id")
    assert chosen not in examples
    assert "confidence" in first.inner_text()

    first.locator("button.acc").click()
    page.wait_for_selector(f"#candidates .card.accept[data-id='{chosen}']")
    page.click("#apply")
    page.wait_for_selector("#proposal-batches li", timeout=TIMEOUT_MS)
    assert "written to 3 products" in page.locator("#proposal-batches").inner_text()  # the two examples too
    doc = get_docs(solr.client, collection, [chosen], fl="id,print_s,print_src_s")[chosen]
    assert doc["print_s"] == "look-e2e" and doc["print_src_s"].startswith("propagated:")

    page.click("nav button[data-tab=batches]")
    page.wait_for_selector("#batches-table button[data-undo]")
    page.locator("#batches-table button[data-undo]").first.click()
    page.wait_for_selector("#notice.undone", timeout=TIMEOUT_MS)
    doc = get_docs(solr.client, collection, [chosen], fl="id,print_s,print_src_s")[chosen]
    assert "print_s" not in doc and "print_src_s" not in doc
    assert page.js_errors == []


def test_the_catalog_map_draws_every_product_and_a_click_opens_one(solr, merch_site, page):
    base, settings, collection, token = merch_site
    from merch import clusters

    clusters.build(settings, solr.client, settings.alias, k=3)
    with_vector = [d["id"] for d in iter_docs(solr.client, collection, fl="id,vector") if d.get("vector")]
    sign_in(page, base, token, "map")
    page.wait_for_selector(f"#map-canvas[data-drawn='{len(with_vector)}']", timeout=TIMEOUT_MS)
    assert "cluster 2" in page.locator("#map-legend").inner_text()
    # hover shows the thumbnail, a click opens the product's panel
    box = page.locator("#map-canvas").bounding_box()
    point = page.evaluate("window.mapPoint(0)")
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#map-tip:not([hidden]) img")
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#map-pick:not([hidden])")
    picked = page.locator("#map-pick").get_attribute("data-id")
    assert picked in with_vector
    assert page.locator("#map-open").get_attribute("href") == f"/#/product/{picked}"
    page.wait_for_function("document.querySelector('#map-pick img').complete")
    assert page.locator("#map-pick").is_visible()
    # a second change event of the same token (a browser sends one when the field loses focus after
    # typing) does not sign in again: that reloaded the map and closed the card (fresh clones saw it)
    page.locator("#token").dispatch_event("change")
    page.wait_for_load_state("networkidle")
    assert page.locator("#map-pick").is_visible()
    shot(page, "merch-map")
    # colour by an attribute: present / missing
    page.select_option("#map-colour", "pattern")
    page.wait_for_selector("#map-legend:has-text('missing')", timeout=TIMEOUT_MS)
    # zoomed in, thumbnails are drawn in place of dots
    page.evaluate("window.mapZoom(window.mapPoint(0).x, window.mapPoint(0).y, 8)")
    page.wait_for_timeout(1500)
    shot(page, "merch-map-zoomed")
    # the product's cluster opens its members
    page.mouse.click(box["x"] + page.evaluate("window.mapPoint(0).x"), box["y"] + page.evaluate("window.mapPoint(0).y"))
    page.wait_for_selector("#map-cluster")
    page.click("#map-cluster")
    page.wait_for_selector("#members-grid .card", timeout=TIMEOUT_MS)
    assert page.locator(f"#members-grid .card[data-id='{picked}']").count() == 1
    assert page.js_errors == []


def test_the_merch_page_fits_a_phone(solr, merch_site, browser):
    base, settings, collection, token = merch_site
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, base, token, "propagate")
        page.wait_for_selector("#proposals-table tbody tr", timeout=TIMEOUT_MS)
        for tab in ("propagate", "clusters", "map", "compare"):
            page.click(f"nav button[data-tab={tab}]")
            page.wait_for_timeout(300)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 392, f"{tab}: {width}px wide at 390"
        page.click("nav button[data-tab=propagate]")
        shot(page, "merch-phone")
    finally:
        context.close()

"""The merchandiser page in headless Chromium: propose from two examples, review, accept a
candidate, apply it as a batch, then undo the batch - checked against Solr at each step."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

import api_catalog
from merch.catalog import get_docs, iter_docs

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def merch_site(solr, tmp_path_factory):
    import uvicorn

    from app.web import create_app

    root = tmp_path_factory.mktemp("e2e-merch")
    with api_catalog.real_index(solr, root, "e2emerch", count=40, dims=16) as (settings, summary, _catalog):
        from merch import identities

        token = identities.add(settings, "e2e-ann")
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="uvicorn-e2e-merch", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the merchandising server did not start")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", settings, summary.collection, token
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def test_review_accept_apply_and_undo_in_the_page(solr, merch_site, page):
    base, settings, collection, token = merch_site
    docs = list(iter_docs(solr.client, collection, fl="id,pattern_s,group"))
    pattern = Counter(d["pattern_s"] for d in docs).most_common(1)[0][0]
    examples = []
    for d in sorted(docs, key=lambda d: d["id"]):
        if d["pattern_s"] == pattern and all(d["group"] != e["group"] for e in examples):
            examples.append(d)
    examples = [e["id"] for e in examples[:2]]

    page.goto(base + "/merch")
    page.fill("#token", token)
    page.locator("#token").dispatch_event("change")
    page.wait_for_selector("#who:has-text('signed in as e2e-ann')", timeout=TIMEOUT_MS)
    page.click("nav button[data-tab=propagate]")
    page.fill("#p-attr", "print")
    page.fill("#p-value", "look-e2e")
    page.fill("#p-like", " ".join(examples))
    page.locator("#p-thr").evaluate("el => { el.value = '-1'; el.dispatchEvent(new Event('input')); }")
    page.click("#propose-form button")
    page.wait_for_selector("#candidates .card", timeout=TIMEOUT_MS)
    first = page.locator("#candidates .card").first
    chosen = first.get_attribute("data-id")
    assert chosen not in examples
    assert "cosine" in first.inner_text()

    first.locator("button.acc").click()
    page.wait_for_selector(f"#candidates .card.accept[data-id='{chosen}']")
    page.click("#apply")
    page.wait_for_selector("#status.ok", timeout=TIMEOUT_MS)
    assert "written to 1 products" in page.locator("#status").inner_text()
    doc = get_docs(solr.client, collection, [chosen], fl="id,print_s,print_src_s")[chosen]
    assert doc["print_s"] == "look-e2e" and doc["print_src_s"].startswith("propagated:")

    page.click("nav button[data-tab=batches]")
    page.wait_for_selector("#batches-table button[data-undo]")
    page.locator("#batches-table button[data-undo]").first.click()
    page.wait_for_selector("#status.ok:has-text('undone')", timeout=TIMEOUT_MS)
    doc = get_docs(solr.client, collection, [chosen], fl="id,print_s,print_src_s")[chosen]
    assert "print_s" not in doc and "print_src_s" not in doc
    assert page.js_errors == []

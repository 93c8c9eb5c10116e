"""The merchandiser page's "Compare index" tab in headless Chromium: a candidate index (built with
the real reindex job, swap=False) compared with the live one, promoted, and the old one dropped;
the live alias changes only on Promote."""

from __future__ import annotations

import threading
import time

import pytest

import api_catalog
from indexer.reindex import ReindexOptions, reindex
from lookalike.solr import cloud
from quality.shadow import compare
from test_merch_page import TIMEOUT_MS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def shadow_site(solr, tmp_path_factory):
    import uvicorn

    from app.web import create_app
    from merch import identities

    root = tmp_path_factory.mktemp("e2e-shadow")
    with api_catalog.real_index(solr, root, "e2eshadow", count=28, dims=8) as (settings, summary, catalog):
        options = ReindexOptions.from_settings(settings, catalog=catalog, alias=settings.alias, dims=6, swap=False)
        candidate = reindex(settings, solr.client, options, show_progress=False)
        token = identities.add(settings, "e2e-ann")
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="uvicorn-e2e-shadow", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the server did not start")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", settings, summary.collection, candidate.collection, token
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            if cloud.alias_target(solr.client, settings.alias) == candidate.collection:
                cloud.delete_alias(solr.client, settings.alias)
            if candidate.collection in cloud.list_collections(solr.client):
                cloud.delete_collection(solr.client, candidate.collection)


def test_compare_promote_and_drop_in_the_page(solr, shadow_site, page):
    base, settings, live, candidate, token = shadow_site
    page.goto(f"{base}/merch#tab=compare")
    page.fill("#token", token)
    page.locator("#token").dispatch_event("change")
    row = page.locator(f"#compare-list tr[data-c='{candidate}']")
    row.wait_for(timeout=TIMEOUT_MS)
    row.locator("button.cmp").click()
    page.wait_for_selector("#compare-report", timeout=TIMEOUT_MS)
    want = compare(settings, solr.client, settings.alias, candidate, sample=100)
    text = page.locator("#compare-report").inner_text()
    assert f"{100 * want.overlap:.0f}%" in text and f"{want.sampled}" in text
    sides = page.locator("#compare-changed .m-side")
    assert sides.count() == len(want.most_changed)
    first = want.most_changed[0]
    assert sides.first.get_attribute("data-id") == first.id
    assert sides.first.locator(".strip").nth(0).locator("img").count() == min(10, len(first.live))
    assert f"candidate={candidate}" in page.url
    page.wait_for_timeout(800)
    shot(page, "merch-compare")
    assert cloud.alias_target(solr.client, settings.alias) == live  # comparing never moves the alias

    row.locator("button.promote").click()
    page.click("#compare-no")
    assert cloud.alias_target(solr.client, settings.alias) == live
    row.locator("button.promote").click()
    page.click("#compare-yes")
    page.wait_for_selector("#compare-msg:has-text('now serves')", timeout=TIMEOUT_MS)
    assert cloud.alias_target(solr.client, settings.alias) == candidate
    # the collection it served before is now a candidate: dropping it leaves the alias alone
    old = page.locator(f"#compare-list tr[data-c='{live}']")
    old.wait_for(timeout=TIMEOUT_MS)
    old.locator("button.drop").click()
    page.click("#compare-yes")
    page.wait_for_selector("#compare-msg:has-text('Dropped')", timeout=TIMEOUT_MS)
    assert live not in cloud.list_collections(solr.client)
    assert cloud.alias_target(solr.client, settings.alias) == candidate
    assert page.js_errors == []

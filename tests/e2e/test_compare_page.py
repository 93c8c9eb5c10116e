"""The merchandiser page's "Compare index" tab in headless Chromium: a candidate index (built with
the real reindex job, swap=False) compared with the live one, promoted, and the old one dropped;
the live alias changes only on Promote."""

from __future__ import annotations

import pytest

import api_catalog
from lookalike.solr import cloud
from quality.shadow import compare
from test_merch_page import TIMEOUT_MS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def shadow_site(solr, tmp_path_factory, serve_app):
    from app.web import create_app
    from merch import identities

    with api_catalog.live_and_candidate(solr, tmp_path_factory.mktemp("e2e-shadow"), "e2eshadow") as built:
        settings, live, candidate = built
        token = identities.add(settings, "e2e-ann")
        with serve_app(create_app(settings), "shadow") as base:
            yield base, settings, live, candidate.collection, token


def test_compare_promote_and_drop_in_the_page(solr, shadow_site, page):
    base, settings, live, candidate, token = shadow_site
    page.goto(f"{base}/merch#tab=compare")
    page.fill("#token", token)
    page.press("#token", "Tab")  # as a person does: the field's change event fires as it loses focus
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

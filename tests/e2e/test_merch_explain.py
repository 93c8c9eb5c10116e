"""The merch page's hook into "explain a match" (issue 17 item 3): opening "why" on a propagation
candidate shows why it looks like the example it is closest to, with both heat-maps."""

from __future__ import annotations

import pytest

import api_catalog
from test_merch_page import TIMEOUT_MS, examples_of, propose_in_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def merch_site(solr, tmp_path_factory, serve_app):
    from app.web import create_app
    from merch import identities

    root = tmp_path_factory.mktemp("e2e-merch-explain")
    with api_catalog.real_index(solr, root, "e2emexpl", count=40, dims=16) as (settings, summary, _catalog):
        token = identities.add(settings, "e2e-ann")
        # heat-maps without a time budget: the model's first batches are slow on a loaded machine
        app = create_app(settings.model_copy(update={"explain_budget_s": 3600.0}))
        with serve_app(app, "merch-explain") as base:
            yield base, summary.collection, token


def test_why_on_a_candidate_explains_it_against_its_closest_example(solr, merch_site, page):
    base, collection, token = merch_site
    examples = examples_of(solr, collection)
    sign_in(page, base, token)
    page.click("nav button[data-tab=propagate]")
    propose_in_page(page, examples, "0")
    first = page.locator("#candidates .card").first
    closest = first.locator("details.m-why").get_attribute("data-closest")
    assert closest in examples
    first.locator("details.m-why summary").click()
    page.wait_for_selector("#candidates .card >> nth=0 >> .m-explain[data-state=ready]", timeout=TIMEOUT_MS)
    box = first.locator(".m-explain")
    assert f"like {closest} at" in box.inner_text()
    assert box.locator("img.m-heat").count() == 2
    assert page.js_errors == []

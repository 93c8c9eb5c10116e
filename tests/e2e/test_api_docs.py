"""/docs and /redoc in headless Chromium with every request off this machine refused: both
render the API from assets the app serves itself (issue 16: they were blank offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def refuse_the_internet(page, base: str) -> list[str]:
    """Abort every request not to the app; returns the list of refused URLs."""
    own = urlsplit(base).netloc
    refused: list[str] = []

    def route(r):
        if urlsplit(r.request.url).netloc == own:
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_renders_offline(storefront, page):
    base, _settings, _catalog = storefront
    refused = refuse_the_internet(page, base)
    page.goto(base + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Lookalike" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)  # the operations, from /openapi.json
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/products/{product_id}/similar" in p or "/similar" in p for p in paths), paths
    assert refused == [] and page.js_errors == []


def test_redoc_renders_offline(storefront, page):
    base, _settings, _catalog = storefront
    refused = refuse_the_internet(page, base)
    page.goto(base + "/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    assert "Lookalike" in page.locator("h1").first.inner_text()
    assert page.locator("text=/similar").count() > 0
    # ReDoc's "powered by" logo and its web fonts come from the internet and are refused; the
    # documentation renders without them (it falls back to local fonts)
    cosmetic = ("fonts.googleapis.com", "fonts.gstatic.com", "cdn.redoc.ly/redoc/logo-mini.svg")
    assert [u for u in refused if not any(c in u for c in cosmetic)] == [] and page.js_errors == []

"""Browser fixtures: the real app served by uvicorn over a real index, and headless Chromium.

Chromium is Debian's package (`make browser` installs it), driven by Playwright for Python
through ``executable_path``; Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

# The real-index builder is shared with the API integration tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import api_catalog  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SERVER_START_TIMEOUT_S = 30.0


@contextlib.contextmanager
def serve(app, name: str):
    """The app served by uvicorn on a free port in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the {name} server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve_app():
    """:func:`serve`, for the pages' own fixtures."""
    return serve


@pytest.fixture(scope="module")
def storefront(solr, tmp_path_factory):
    """(base URL, settings, catalog path) of the app serving a small demo catalog indexed for real."""
    from app.web import create_app

    root = tmp_path_factory.mktemp("e2e")
    with api_catalog.real_index(solr, root, "e2e", count=40, dims=16) as (settings, _summary, catalog):
        with serve(create_app(settings), "storefront") as base:
            yield base, settings, catalog


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()

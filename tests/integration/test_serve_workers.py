"""`lookalike serve --workers 2`: a real uvicorn with two processes answers like the in-process app.

The hand-made catalog (tests/integration/api_catalog.py) behind its own alias; the server is a
subprocess of the real CLI, found healthy by polling, and stopped at the end. Its answers must
equal the in-process app's, which test_api_products.py checks against numpy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

import api_catalog
from lookalike.solr import node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cat(solr, tmp_path_factory):
    with api_catalog.indexed(solr, tmp_path_factory.mktemp("serve-workers"), "workers") as catalog:
        yield catalog


def test_two_workers_answer_like_the_app(cat, tmp_path):
    port = node.free_base_port(1)
    env = {**os.environ, "LOOKALIKE_SOLR_URL": cat.settings.solr_url, "LOOKALIKE_ALIAS": cat.settings.alias,
           "LOOKALIKE_META_COLLECTION": cat.settings.meta_collection, "LOOKALIKE_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "lookalike.cli", "serve", "--workers", "2", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, server.stdout.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.3)
        with api_catalog.http(cat.settings) as in_process, requests.Session() as http:
            for pid in ("a1", "b2", "d1"):
                want = in_process.get(f"/api/products/{pid}/similar", params={"k": 5, "mode": "approx"}).json()
                for _ in range(4):  # keep-alive requests, spread over both workers
                    got = http.get(f"{base}/api/products/{pid}/similar", params={"k": 5, "mode": "approx"}).json()
                    assert [p["id"] for p in got["products"]] == [p["id"] for p in want["products"]]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    out = server.stdout.read().decode()
    assert out.count("Started server process") == 2, out[-2000:]  # two workers

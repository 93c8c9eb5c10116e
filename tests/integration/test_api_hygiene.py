"""Bad input everywhere is a 400 with a sentence, never a 5xx; answers leak no internals."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

import api_catalog
from lookalike.errors import SolrRequestError
from merch import identities

pytestmark = pytest.mark.integration

LONG_ID = "x" * 9000


@pytest.fixture(scope="module")
def cat(solr, tmp_path_factory):
    with api_catalog.indexed(solr, tmp_path_factory.mktemp("api-hygiene"), "hygiene") as catalog:
        # an id the indexer accepts but the exact plugin's comma-separated lists cannot carry
        vec = catalog.vectors["a1"].tolist()
        solr.client.add(catalog.collection, [{"id": "a,1", "image": "images/a1.png", "group": "design-comma",
                                               "vector": vec}], commit=True)
        yield catalog


@pytest.fixture(scope="module")
def merch_settings(cat, tmp_path_factory):
    settings = cat.settings.model_copy(update={"merchandisers_file": tmp_path_factory.mktemp("m") / "m.json"})
    return settings, {"Authorization": f"Bearer {identities.add(settings, 'ann')}"}


@pytest.fixture(scope="module")
def api(merch_settings):
    with api_catalog.http(merch_settings[0]) as client:
        yield client


def _is_400_sentence(r) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "status"} and body["status"] == 400 and len(body["error"]) > 10
    return body["error"]


@pytest.mark.parametrize("path", [f"/api/products/{LONG_ID}", f"/images/{LONG_ID}",
                                  f"/api/products/{LONG_ID}/similar", f"/api/merch/proposals/{LONG_ID}"])
def test_a_9000_character_id_is_a_400_on_every_route(api, merch_settings, path):
    assert "at most 512 characters" in _is_400_sentence(api.get(path, headers=merch_settings[1]))


def test_ids_in_bodies_have_the_same_limit(api, merch_settings):
    assert "512" in _is_400_sentence(api.post("/api/search", json={"like": [LONG_ID]}))
    r = api.post("/api/merch/preference", json={"liked": [LONG_ID]})
    assert "512" in _is_400_sentence(r)


def test_a_lone_surrogate_is_a_400(api):
    body = b'{"like": ["\\ud800"]}'
    msg = _is_400_sentence(api.post("/api/search", content=body, headers={"content-type": "application/json"}))
    assert "Unicode" in msg
    r = api.get("/api/products/%ED%A0%80")  # the surrogate as (invalid) UTF-8 in the path
    assert r.status_code in (400, 404), r.text


def test_a_lone_surrogate_keeps_the_connection_alive(merch_settings):
    import uvicorn

    from app.web import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(merch_settings[0]), host="127.0.0.1", port=0,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses = []
        for i in range(11):
            body = b'{"like": ["\\ud800"]}' if i == 0 else json.dumps({"like": ["a1"], "k": 3}).encode()
            conn.request("POST", "/api/search", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        assert statuses == [400] + [200] * 10  # one connection: nothing was reset
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_vector_of_huge_values_has_a_direction(api, cat):
    r = api.post("/api/search", json={"vector": [1e308, 0.0, 0.0, 0.0], "k": 3, "mode": "exact"})
    assert r.status_code == 200, r.text
    assert r.json()["products"][0]["id"] in ("a1", "a,1")  # (1, 0.05, 0, 0) is the nearest to (1, 0, 0, 0)
    assert "zero" in _is_400_sentence(api.post("/api/search", json={"vector": [0.0] * 4}))


def test_mode_auto_routes_an_id_with_a_comma_to_a_path_that_carries_it(api):
    r = api.get("/api/products/a,1/similar", params={"k": 3})
    assert r.status_code == 200, r.text
    assert r.json()["products"][0]["id"] == "a1"
    r = api.post("/api/search", json={"like": ["a,1"], "k": 3})
    assert r.status_code == 200, r.text
    assert "comma" in _is_400_sentence(api.get("/api/products/a,1/similar", params={"mode": "exact"}))


def test_solr_4xx_is_never_a_502_and_names_no_collection():
    for solr_status, status in [(400, 400), (414, 400), (413, 400), (404, 404), (409, 409), (401, 503), (403, 503),
                                (500, 502)]:
        err = SolrRequestError(f"Solr answered {solr_status} to POST /products_20261201/select: "
                               "undefined field color_x in fq=color_x:(red)", solr_status)
        assert err.http_status == status
        assert "products_" not in err.public_message and "fq=" not in err.public_message
    # the HTTP boundary answers the public message and keeps the full one for the log
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from query.http.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom():
        raise SolrRequestError("Solr answered 414 to POST /products_20261201/select: URI Too Long", 414)

    r = TestClient(app).get("/boom")
    assert r.status_code == 400 and "products_" not in r.text and "check the filters" in r.json()["error"]

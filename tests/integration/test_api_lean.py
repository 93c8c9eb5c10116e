"""The lean HTTP path (issue 15 item 5): one Solr request per similar-by-id, on a kept connection.

The real app (``create_app``) over the hand-made catalog (tests/integration/api_catalog.py):
the requests its Solr client sends are counted at the transport under the client (every request,
failover included, goes through it), and the connections its pool opens are counted by urllib3
itself. After the first search (which reads the schema once), each similar-by-id, in every mode
and with or without a filter, is exactly one ``/select`` to Solr, and no request opens a new TCP
connection to Solr. The answer still documents and keeps its shape (OpenAPI, errors).
"""

from __future__ import annotations

from collections import Counter

import pytest

import api_catalog

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cat(solr, tmp_path_factory):
    with api_catalog.indexed(solr, tmp_path_factory.mktemp("api-lean"), "lean") as catalog:
        yield catalog


@pytest.fixture(scope="module")
def app(cat):
    with api_catalog.http(cat.settings) as client:
        solr = client.app.state.services.client
        sent: Counter[str] = Counter()
        send = solr._http.request

        def counted(method, url, *args, **kw):  # noqa: ANN001, ANN002, ANN003 - urllib3's signature
            sent[url.split("?")[0].split("/")[-1]] += 1
            return send(method, url, *args, **kw)

        solr._http.request = counted
        yield client, solr, sent


def _connections(solr) -> int:
    """TCP connections the client's pool has opened to its Solr node so far."""
    return solr._http.connection_from_url(solr.base_url).num_connections


@pytest.mark.parametrize("mode", ["auto", "exact", "approx"])
@pytest.mark.parametrize("filters", [[], ["color:red"]], ids=["no filter", "filtered"])
def test_similar_by_id_is_one_solr_request_on_a_kept_connection(app, mode, filters):
    client, solr, sent = app
    params = {"k": 3, "mode": mode, "filter": filters}
    assert client.get("/api/products/a1/similar", params=params).status_code == 200  # schema read once, cached
    opened = _connections(solr)
    for pid in ("a1", "a2", "b1", "c2", "d1"):
        sent.clear()
        resp = client.get(f"/api/products/{pid}/similar", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert dict(sent) == {"select": 1}, dict(sent)
        assert body["solr_requests"] == 1 and body["products"] and body["mode"] in ("exact", "approx")
        if mode != "auto":
            assert body["mode"] == mode
        assert pid not in [p["id"] for p in body["products"]]
    assert _connections(solr) == opened, "a similar-by-id opened a new connection to Solr"


def test_the_answer_is_documented_and_errors_keep_their_shape(app):
    client, _, sent = app
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/api/products/{product_id}/similar"]["get"]
    schema = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SearchResponse"}
    assert {"k", "filter", "mode"} <= {p["name"] for p in route["parameters"]}
    missing = client.get("/api/products/no-such-product/similar")
    assert missing.status_code == 404 and missing.json() == {"error": "no product with id 'no-such-product'",
                                                             "status": 404}
    bad = client.get("/api/products/a1/similar", params={"k": 0})
    assert bad.status_code == 400 and bad.json()["status"] == 400 and "k" in bad.json()["error"]

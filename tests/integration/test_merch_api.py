"""The merchandising HTTP routes in the storefront app, against the real Solr.

Writes need the merchandiser credential; shoppers' routes do not; a full review flow over
HTTP (cluster, propose, decide, apply, gap report, undo) leaves the catalog exactly as before.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lookalike.solr import cloud
from merch.api import TOKEN_HEADER, create_router
from app.web import create_app
from merch_catalog import make_catalog, snapshot

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token"


def app_for(solr, alias: str, token: str | None) -> TestClient:
    settings = solr.settings.model_copy(update={"alias": alias, "merchandiser_token": token})
    app = create_app(settings)
    app.include_router(create_router(settings))
    return TestClient(app)


@pytest.fixture
def served(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    alias = f"{cat.name}_live"
    cloud.create_alias(solr.client, alias, cat.name)
    return cat, alias


def test_writes_need_the_credential_and_reads_do_not(solr, served):
    cat, alias = served
    http = app_for(solr, alias, TOKEN)
    body = {"attribute": "pattern", "value": "hawaiian", "positives": ["p002"]}
    for headers in ({}, {TOKEN_HEADER: "wrong"}):
        r = http.post("/api/merch/proposals", json=body, headers=headers)
        assert r.status_code == 401 and TOKEN_HEADER in r.json()["error"] and r.json()["status"] == 401
    assert http.post("/api/merch/batches/b1/undo", json={}).status_code == 401
    assert http.post("/api/merch/clusters/build", json={}).status_code == 401
    closed = app_for(solr, alias, None)
    r = closed.post("/api/merch/proposals", json=body, headers={TOKEN_HEADER: TOKEN})
    assert r.status_code == 403 and "LOOKALIKE_MERCHANDISER_TOKEN" in r.json()["error"]
    # shoppers' routes answer without it
    r = http.get("/api/merch/navigate/p002", params={"k": 4, "pool": 10})
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    r = http.post("/api/merch/preference", json={"liked": ["p002"], "k": 5})
    assert r.status_code == 200 and len(r.json()["items"]) == 5
    # bad input is a 400 / 404 in the one error shape
    assert http.get("/api/merch/navigate/p002", params={"k": 0}).status_code == 400
    r = http.get("/api/merch/navigate/p002", params={"filter": "nosuchfield:x"})
    assert r.status_code == 400 and "unknown filter field" in r.json()["error"]
    r = http.post("/api/merch/proposals", json={**body, "positives": ["nope"]}, headers={TOKEN_HEADER: TOKEN})
    assert r.status_code == 404 and "nope" in r.json()["error"]
    assert http.get("/api/merch/clusters").status_code == 404  # not clustered yet


def test_a_review_flow_over_http_ends_exactly_where_it_started(solr, served):
    cat, alias = served
    http = app_for(solr, alias, TOKEN)
    auth = {TOKEN_HEADER: TOKEN}
    r = http.post("/api/merch/clusters/build", json={"k": 3}, headers=auth)
    assert r.status_code == 200 and sum(c["size"] for c in r.json()["clusters"]) == 96
    assert http.get("/api/merch/clusters").json()["k"] == 3
    start = http.get("/api/merch/navigate/start", params={"k": 3}).json()
    assert len(start["items"]) == 3
    before = snapshot(solr, cat.name)

    r = http.post("/api/merch/proposals", headers=auth, json={
        "attribute": "pattern", "value": "hawaiian", "positives": ["p002", "p005"], "threshold": 0.0, "user": "ann"})
    assert r.status_code == 200, r.text
    view = r.json()
    pid = view["proposal"]["id"]
    free = [c["id"] for c in view["candidates"] if not c["blocked"]]
    assert free and all(c["similarity"] >= 0.0 for c in view["candidates"])
    assert view["candidates"][0]["reason"].startswith("cosine")
    r = http.post(f"/api/merch/proposals/{pid}/decisions", headers=auth,
                  json={"accept": free[:2], "reject": free[2:3], "threshold": 0.1})
    assert r.status_code == 200 and r.json()["threshold"] == 0.1
    gaps = http.get("/api/merch/gaps/pattern").json()
    assert gaps["would_fill"] is not None and gaps["lacking"] > 0
    r = http.post(f"/api/merch/proposals/{pid}/apply", headers=auth, json={"user": "ann"})
    assert r.status_code == 200 and r.json()["written"] == 2
    batch = r.json()["id"]
    assert snapshot(solr, cat.name)[free[0]]["pattern_s"] == "hawaiian"
    assert [b["id"] for b in http.get("/api/merch/batches").json()][0] == batch
    r = http.post(f"/api/merch/batches/{batch}/undo", headers=auth, json={"user": "ann"})
    assert r.status_code == 200 and r.json()["state"] == "undone"
    assert snapshot(solr, cat.name) == before
    assert http.get("/merch").status_code == 200 and http.get("/navigate").status_code == 200

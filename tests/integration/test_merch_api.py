"""The merchandising HTTP routes in the storefront app, against the real Solr.

Merchandising reads and writes need a named merchandiser's token (the recorded user is the
token's, never the body's); shoppers' routes do not; a full review flow over HTTP (cluster,
propose, decide, apply, gap report, undo) leaves the catalog exactly as before.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lookalike.solr import cloud
from app.web import create_app
from merch import identities
from merch_catalog import make_catalog, snapshot

pytestmark = pytest.mark.integration


def app_for(solr, alias: str, tmp_path, *names: str) -> tuple[TestClient, dict[str, dict[str, str]]]:
    """The app with merchandisers ``names``; returns it and each one's Authorization header."""
    settings = solr.settings.model_copy(update={"alias": alias, "merchandisers_file": tmp_path / "merch.json"})
    auth = {name: {"Authorization": f"Bearer {identities.add(settings, name)}"} for name in names}
    return TestClient(create_app(settings)), auth


@pytest.fixture
def served(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    alias = f"{cat.name}_live"
    cloud.create_alias(solr.client, alias, cat.name)
    return cat, alias


def test_merchandising_needs_a_named_merchandiser_and_shopping_does_not(solr, served, tmp_path):
    cat, alias = served
    http, auth = app_for(solr, alias, tmp_path, "ann")
    body = {"attribute": "pattern", "value": "hawaiian", "positives": ["p002"]}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YW5uOng="}):
        r = http.post("/api/merch/proposals", json=body, headers=headers)
        assert r.status_code == 401 and "token" in r.json()["error"] and r.json()["status"] == 401
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert http.post("/api/merch/batches/b1/undo", json={}).status_code == 401
    assert http.post("/api/merch/clusters/build", json={}).status_code == 401
    # reads too: proposals, batches, clusters, gaps name merchandisers and their work
    for path in ("/api/merch/proposals", "/api/merch/proposals/x", "/api/merch/batches", "/api/merch/clusters",
                 "/api/merch/gaps/pattern", "/api/merch/me"):
        assert http.get(path).status_code == 401, path
    assert http.get("/api/merch/me", headers=auth["ann"]).json() == {"user": "ann"}
    # the body cannot choose who is recorded
    r = http.post("/api/merch/proposals", json={**body, "user": "mallory"}, headers=auth["ann"])
    assert r.status_code == 400 and "user" in r.json()["error"]
    # a server with no merchandiser at all has merchandising off
    closed, _ = app_for(solr, alias, tmp_path / "none")
    r = closed.post("/api/merch/proposals", json=body, headers=auth["ann"])
    assert r.status_code == 403 and "lookalike merchandiser add" in r.json()["error"]
    # the scheme is in OpenAPI, so /docs has an Authorize button
    spec = http.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["merchandiser"]["scheme"] == "bearer"
    assert {"merchandiser": []} in spec["paths"]["/api/merch/proposals"]["get"]["security"]
    # shoppers' routes answer without it
    r = http.get("/api/merch/navigate/p002", params={"k": 4, "pool": 10})
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    r = http.post("/api/merch/preference", json={"liked": ["p002"], "k": 5})
    assert r.status_code == 200 and len(r.json()["items"]) == 5
    # bad input is a 400 / 404 in the one error shape
    assert http.get("/api/merch/navigate/p002", params={"k": 0}).status_code == 400
    r = http.get("/api/merch/navigate/p002", params={"filter": "nosuchfield:x"})
    assert r.status_code == 400 and "unknown filter field" in r.json()["error"]
    r = http.post("/api/merch/proposals", json={**body, "positives": ["nope"]}, headers=auth["ann"])
    assert r.status_code == 404 and "nope" in r.json()["error"]
    assert http.get("/api/merch/clusters", headers=auth["ann"]).status_code == 404  # not clustered yet


def test_a_review_flow_over_http_ends_exactly_where_it_started(solr, served, tmp_path):
    cat, alias = served
    http, people = app_for(solr, alias, tmp_path, "ann", "bob")
    auth = people["ann"]
    r = http.post("/api/merch/clusters/build", json={"k": 3}, headers=auth)
    assert r.status_code == 200 and sum(c["size"] for c in r.json()["clusters"]) == 96
    assert http.get("/api/merch/clusters", headers=auth).json()["k"] == 3
    start = http.get("/api/merch/navigate/start", params={"k": 3}).json()
    assert len(start["items"]) == 3
    before = snapshot(solr, cat.name)

    r = http.post("/api/merch/proposals", headers=auth, json={
        "attribute": "pattern", "value": "hawaiian", "positives": ["p002", "p005"], "threshold": 0.0})
    assert r.status_code == 200, r.text
    view = r.json()
    pid = view["proposal"]["id"]
    free = [c["id"] for c in view["candidates"] if not c["blocked"]]
    assert free and all(c["similarity"] >= 0.0 for c in view["candidates"])
    assert view["candidates"][0]["reason"].startswith("cosine")
    r = http.post(f"/api/merch/proposals/{pid}/decisions", headers=auth,
                  json={"accept": free[:2], "reject": free[2:3], "threshold": 0.1})
    assert r.status_code == 200 and r.json()["threshold"] == 0.1
    gaps = http.get("/api/merch/gaps/pattern", headers=auth).json()
    assert gaps["would_fill"] is not None and gaps["lacking"] > 0
    assert view["proposal"]["created_by"] == "ann"
    r = http.post(f"/api/merch/proposals/{pid}/apply", headers=auth, json={})
    assert r.status_code == 200 and r.json()["written"] == 2
    batch = r.json()["id"]
    assert snapshot(solr, cat.name)[free[0]]["pattern_s"] == "hawaiian"
    batches = http.get("/api/merch/batches", headers=auth).json()
    assert batches[0]["id"] == batch and batches[0]["user"] == "ann"
    r = http.post(f"/api/merch/batches/{batch}/undo", headers=people["bob"], json={})
    assert r.status_code == 200 and r.json()["state"] == "undone" and r.json()["undone_by"] == "bob"
    assert snapshot(solr, cat.name) == before
    assert http.get("/merch").status_code == 200 and http.get("/navigate").status_code == 200


def test_accept_all_with_its_count_tags_the_examples_and_undo_is_exact(solr, served, tmp_path):
    cat, alias = served
    http, people = app_for(solr, alias, tmp_path, "ann")
    auth = people["ann"]
    before = snapshot(solr, cat.name)
    # an example lacking the value, so tagging the examples shows; value new to the catalog
    lacking = sorted(i for i in cat.ids if "pattern_s" not in before[i])
    examples = lacking[:2]
    r = http.post("/api/merch/proposals", headers=auth, json={
        "attribute": "pattern", "value": "tropical", "positives": examples, "min_confidence": 0.3, "limit": 5})
    assert r.status_code == 200, r.text
    view = r.json()
    pid = view["proposal"]["id"]
    # confidence is bounded, in the order of the similarity, and names the cut it was asked for
    assert view["min_confidence"] == pytest.approx(0.3, abs=1e-3)
    confs = [c["confidence"] for c in view["candidates"]]
    assert confs and all(0.3 - 1e-6 <= c <= 1.0 for c in confs) and confs == sorted(confs, reverse=True)
    assert {"title", "category_s"} <= set(view["candidates"][0]["doc"])
    # accept all: every candidate above the cut (more than the 5 shown), minus rejected and human values
    assert view["total"] > len(view["candidates"])
    rejected = next(c["id"] for c in view["candidates"] if not c["blocked"])
    http.post(f"/api/merch/proposals/{pid}/decisions", headers=auth, json={"reject": [rejected]})
    view = http.get(f"/api/merch/proposals/{pid}", headers=auth, params={"limit": 1000}).json()
    blocked = {c["id"] for c in view["candidates"] if c["blocked"]}
    want = {c["id"] for c in view["candidates"]} - blocked - {rejected}
    assert view["acceptable"] == len(want) == view["total"] - len(blocked) - 1
    r = http.post(f"/api/merch/proposals/{pid}/decisions", headers=auth, json={"accept_all": True, "expect": 1})
    assert r.status_code == 400 and f"{len(want)} candidates can be accepted now" in r.json()["error"]
    r = http.post(f"/api/merch/proposals/{pid}/decisions", headers=auth,
                  json={"accept_all": True, "expect": view["acceptable"]})
    assert r.status_code == 200
    decisions = r.json()["decisions"]
    assert {i for i, d in decisions.items() if d == "accept"} == want and decisions[rejected] == "reject"
    # listed as open, resumed with its decisions
    listed = http.get("/api/merch/proposals", headers=auth).json()
    assert pid in [p["id"] for p in listed]
    resumed = http.get(f"/api/merch/proposals/{pid}", headers=auth).json()
    assert resumed["accepted"] == resumed["pending"] == len(want)
    # apply writes the accepted ones and the examples, and the view says so after a reload
    r = http.post(f"/api/merch/proposals/{pid}/apply", headers=auth, json={})
    assert r.status_code == 200 and r.json()["written"] == len(want) + 2
    batch = r.json()["id"]
    after = snapshot(solr, cat.name)
    assert {i for i in after if after[i].get("pattern_s") == "tropical"} == want | set(examples)
    view = http.get(f"/api/merch/proposals/{pid}", headers=auth).json()
    assert view["batches"][0]["id"] == batch and view["batches"][0]["state"] == "applied"
    assert view["batches"][0]["written"] == len(want) + 2 and view["pending"] == 0
    # undo is exact, examples included; closing takes it off the open list
    assert http.post(f"/api/merch/batches/{batch}/undo", headers=auth, json={}).status_code == 200
    assert snapshot(solr, cat.name) == before
    assert http.get(f"/api/merch/proposals/{pid}", headers=auth).json()["batches"][0]["state"] == "undone"
    assert http.post(f"/api/merch/proposals/{pid}/close", headers=auth, json={}).json()["state"] == "closed"
    assert pid not in [p["id"] for p in http.get("/api/merch/proposals", headers=auth).json()]
    assert pid in [p["id"] for p in http.get("/api/merch/proposals", headers=auth, params={"state": "closed"}).json()]
    r = http.post(f"/api/merch/proposals/{pid}/apply", headers=auth, json={})
    assert r.status_code == 400 and "closed" in r.json()["error"]


def test_cluster_members_are_paged(solr, served, tmp_path):
    cat, alias = served
    http, people = app_for(solr, alias, tmp_path, "ann")
    auth = people["ann"]
    built = http.post("/api/merch/clusters/build", json={"k": 3}, headers=auth).json()
    c = max(built["clusters"], key=lambda c: c["size"])
    seen = []
    page = http.get(f"/api/merch/clusters/{c['id']}/members", headers=auth, params={"rows": 10}).json()
    assert page["total"] == c["size"] and page["pages"] == -(-c["size"] // 10)
    for n in range(1, page["pages"] + 1):
        got = http.get(f"/api/merch/clusters/{c['id']}/members", headers=auth, params={"rows": 10, "page": n}).json()
        seen += [p["id"] for p in got["products"]]
    snap = snapshot(solr, cat.name)
    assert seen == sorted(i for i in snap if snap[i].get("cluster") == c["id"])
    r = http.get("/api/merch/clusters/99/members", headers=auth)
    assert r.status_code == 404 and "no cluster 99" in r.json()["error"]


def test_the_catalog_map_places_every_product_and_colours_by_attribute(solr, served, tmp_path):
    cat, alias = served
    http, people = app_for(solr, alias, tmp_path, "ann")
    auth = people["ann"]
    http.post("/api/merch/clusters/build", json={"k": 3}, headers=auth)
    m = http.get("/api/merch/map", headers=auth, params={"attribute": "pattern"})
    assert m.status_code == 200, m.text
    m = m.json()
    snap = snapshot(solr, cat.name)
    with_vector = {i for i, d in snap.items() if d.get("vector")}
    assert {p[0] for p in m["points"]} == with_vector and m["shown"] == len(with_vector) and not m["sampled"]
    assert all(0 <= p[1] <= 1 and 0 <= p[2] <= 1 for p in m["points"])
    assert {p[0]: p[3] for p in m["points"]} == {i: snap[i]["cluster"] for i in with_vector}
    assert {p[0]: p[4] for p in m["points"]} == {i: int("pattern_s" in snap[i]) for i in with_vector}
    assert m["missing"] == sum(1 for i in with_vector if "pattern_s" not in snap[i]) > 0
    assert "pattern" in m["attributes"] and "id" not in m["attributes"] and "pattern_src" not in m["attributes"]
    # the layout is cached per index version: asked again, the same positions from the same run
    again = http.get("/api/merch/map", headers=auth).json()
    assert again["created"] == m["created"] and [p[:3] for p in again["points"]] == [p[:3] for p in m["points"]]
    assert again["missing"] is None and again["points"][0][4] is None
    r = http.get("/api/merch/map", headers=auth, params={"attribute": "nosuch"})
    assert r.status_code == 400 and "unknown attribute 'nosuch'" in r.json()["error"]
    # a product added since is a new index version: laid out again
    solr.client.add(cat.name, [{**{k: v for k, v in snap["p000"].items() if k not in ("_version_", "cluster")},
                                "id": "new-1"}], commit=True)
    fresh = http.get("/api/merch/map", headers=auth).json()
    assert fresh["created"] != m["created"] and "new-1" in {p[0] for p in fresh["points"]}

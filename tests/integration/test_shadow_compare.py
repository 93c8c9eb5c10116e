"""A new index compared before it goes live (issue 17, item 2), end to end against the real Solr.

The live index is the real reindex job over a small demo catalog with the real model; the
candidate is the same catalog indexed at another width with ``swap=False``. The alias must not
move until ``promote``; ``compare`` must report per product what the search service answers in
each collection (checked here against the two services' own answers), and ``promote
--min-overlap`` above the measured overlap must refuse and leave the alias alone.
"""

from __future__ import annotations

import json

import pytest

import api_catalog
from lookalike.solr import cloud
from query.client import SearchService
from query.models import SimilarRequest
from quality.shadow import compare

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def live_and_candidate(solr, tmp_path_factory):
    with api_catalog.live_and_candidate(solr, tmp_path_factory.mktemp("shadow"), "shadow") as built:
        yield built


def test_a_candidate_leaves_the_alias_alone(solr, live_and_candidate):
    settings, live, candidate = live_and_candidate
    assert not candidate.published and candidate.collection != live
    assert cloud.alias_target(solr.client, settings.alias) == live
    assert "still serves" in candidate.to_text() and "lookalike promote" in candidate.to_text()


def test_compare_reports_what_each_index_answers(solr, live_and_candidate):
    settings, live, candidate = live_and_candidate
    report = compare(settings, solr.client, settings.alias, candidate.collection, sample=10, show=3)
    assert (report.live, report.candidate, report.sampled) == (live, candidate.collection, 10)
    assert 0.0 <= report.overlap <= 1.0 and report.by_category
    old = SearchService(settings, solr.client, collection=live)
    new = SearchService(settings, solr.client, collection=candidate.collection)
    for changed in report.most_changed:
        request = SimilarRequest(id=changed.id, k=10)
        assert changed.live == [p.id for p in old.similar(request).products]
        assert changed.candidate == [p.id for p in new.similar(request).products]
        assert changed.overlap == pytest.approx(len(set(changed.live) & set(changed.candidate)) / 10)
    assert cloud.alias_target(solr.client, settings.alias) == live


def test_the_shadow_routes_need_a_merchandiser_and_never_move_the_alias_before_promote(solr, live_and_candidate,
                                                                                       tmp_path):
    from fastapi.testclient import TestClient

    from app.web import create_app
    from merch import identities

    settings, live, candidate = live_and_candidate
    settings = settings.model_copy(update={"merchandisers_file": tmp_path / "merch.json"})
    auth = {"Authorization": f"Bearer {identities.add(settings, 'ann')}"}
    http = TestClient(create_app(settings))
    for method, path in (("get", "/api/shadow/candidates"), ("get", f"/api/shadow/compare?candidate={candidate.collection}"),
                         ("post", "/api/shadow/promote"), ("post", "/api/shadow/drop")):
        r = getattr(http, method)(path, **({"json": {"candidate": candidate.collection}} if method == "post" else {}))
        assert r.status_code == 401, path
    listed = http.get("/api/shadow/candidates", headers=auth).json()
    assert listed["live"]["collection"] == live and [c["collection"] for c in listed["candidates"]] == [candidate.collection]
    report = http.get("/api/shadow/compare", headers=auth, params={"candidate": candidate.collection, "sample": 8}).json()
    want = compare(settings, solr.client, settings.alias, candidate.collection, sample=8)
    assert report["overlap"] == want.overlap and report["most_changed"][0]["id"] == want.most_changed[0].id
    assert set(report["products"]) >= {want.most_changed[0].id, *want.most_changed[0].live}
    if want.overlap < 1.0:  # a small catalog can keep every neighbour: then no threshold can refuse
        r = http.post("/api/shadow/promote", headers=auth, json={"candidate": candidate.collection,
                                                                   "min_overlap": want.overlap + 0.01, "sample": 8})
        assert r.status_code == 400 and "not promoted" in r.json()["error"]
    r = http.post("/api/shadow/drop", headers=auth, json={"candidate": live})
    assert r.status_code == 400 and "cannot be dropped" in r.json()["error"]
    r = http.post("/api/shadow/drop", headers=auth, json={"candidate": "nosuch_1"})
    assert r.status_code == 404
    assert cloud.alias_target(solr.client, settings.alias) == live and candidate.collection in cloud.list_collections(solr.client)


def test_promote_with_a_threshold_refuses_then_promote_swaps(solr, live_and_candidate, monkeypatch, capsys):
    from lookalike.cli import main

    settings, live, candidate = live_and_candidate
    for name, value in {"LOOKALIKE_SOLR_URL": solr.url, "LOOKALIKE_ALIAS": settings.alias,
                        "LOOKALIKE_META_COLLECTION": settings.meta_collection,
                        "LOOKALIKE_DATA_DIR": str(settings.data_dir)}.items():
        monkeypatch.setenv(name, value)
    assert main(["compare", candidate.collection, "--sample", "8", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)["overlap"]
    assert main(["promote", candidate.collection, "--min-overlap", str(measured + 0.01), "--sample", "8"]) == 1
    assert "not promoted" in capsys.readouterr().out
    assert cloud.alias_target(solr.client, settings.alias) == live
    assert main(["promote", candidate.collection]) == 0
    assert cloud.alias_target(solr.client, settings.alias) == candidate.collection
    assert f"(was {live}" in capsys.readouterr().out

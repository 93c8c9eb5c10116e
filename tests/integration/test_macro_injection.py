"""Solr's macro expansion cannot be reached from the outside (issue 13, part 1).

Solr replaces ``${name}`` and ``${name:default}`` inside any parameter value, quoted or
escaped, before a parser sees it. Each attack below was measured to work before the fix: a
filter value choosing its own value, an id that names an existing product through a macro,
a filter value pulling in the text query's clauses. Expected answers come from the hand-made
catalog (tests/integration/api_catalog.py) with numpy, never written by hand.

Two layers are proven separately: the API and the CLI (the client sends ``expandMacros=false``),
and Solr itself (the configset's invariant), by a raw request that does not send it.
"""

from __future__ import annotations

import json

import pytest
import requests
import api_catalog

pytestmark = pytest.mark.integration


cat, api = api_catalog.hand_made_fixtures("macros")


def ids(answer: dict) -> list[str]:
    return [p["id"] for p in answer["products"]]


def colours(cat, answer: dict) -> set[str]:
    return {cat.docs[i]["color_s"] for i in ids(answer)}


def test_a_filter_value_cannot_choose_its_own_value(api, cat):
    r = api.get("/api/products/a1/similar", params={"filter": "color:${x:red}", "mode": "approx", "k": 20})
    assert r.status_code == 200, r.text
    assert ids(r.json()) == []  # no product's colour is literally "${x:red}"
    control = api.get("/api/products/a1/similar", params={"filter": "color:red", "mode": "approx", "k": 20}).json()
    assert colours(cat, control) == {"red"} and len(ids(control)) == 4


@pytest.mark.parametrize("mode", ["approx", "exact", "auto"])
def test_an_id_with_a_macro_is_not_an_existing_product(api, mode):
    for path in ("/api/products/a1${x}/similar", "/api/products/a1${x}"):
        r = api.get(path, params={"mode": mode} if path.endswith("similar") else None)
        assert r.status_code == 404, (path, r.text)
    r = api.post("/api/search", json={"like": ["a1${x}"], "mode": mode})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_a_filter_value_cannot_pull_in_the_text_query(api, cat, mode):
    r = api.post("/api/search", json={"like": ["a1"], "text": "*:*", "mode": mode,
                                      "filters": [{"field": "color", "values": ["${text}"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0
    r = api.post("/api/search", json={"like": ["a1"], "text": "color_s:blue", "mode": mode,
                                      "filters": [{"field": "color", "values": ["${text}"]}]})
    assert r.status_code == 200 and r.json()["total"] == 0, r.text


@pytest.mark.parametrize("like", [[], ["a1"]])
def test_nested_local_params_in_text_are_words(api, like):
    for text in ("{!join from=id to=id}*:*", "{!join}", "${q}", "{!lucene v=$q}", "_query_:\"{!join}\""):
        r = api.post("/api/search", json={"text": text, "like": like, "mode": "approx"})
        assert r.status_code == 200, (text, r.text)
        if not like:
            assert r.json()["total"] == 0, text
        else:  # the text matches nothing, so it re-ranks nothing: the image order stands
            plain = api.post("/api/search", json={"like": like, "mode": "approx"}).json()
            sims = [round(p["similarity"], 5) for p in r.json()["products"]]  # ties may swap places
            assert sims == [round(p["similarity"], 5) for p in plain["products"]], text


def test_the_cli_does_not_expand_macros(cat, solr, monkeypatch, capsys):
    from lookalike.cli import main

    monkeypatch.setenv("LOOKALIKE_SOLR_URL", solr.url)
    rc = main(["similar", "a1", "--collection", cat.collection, "--filter", "color=${x:red}", "--mode", "approx",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["products"] == []
    rc = main(["similar", "a1${x}", "--collection", cat.collection, "--mode", "approx"])
    assert rc == 2 and "no product" in capsys.readouterr().err


def test_solr_itself_refuses_macros_even_when_the_client_asks_for_them(cat, solr):
    """The configset's invariant: a raw request that leaves macros on still gets none."""
    base = f"{solr.url}/{cat.collection}"
    expanded = {"q": "color_s:\"${c}\"", "c": "red", "wt": "json", "expandMacros": "true"}
    auth = solr.auth("search")
    r = requests.get(f"{base}/select", params=expanded, timeout=10, auth=auth)
    assert r.status_code == 200 and r.json()["response"]["numFound"] == 0, r.text
    r = requests.get(f"{base}/get", params={"id": "a1${x}", "wt": "json", "expandMacros": "true"}, timeout=10, auth=auth)
    assert r.status_code == 200 and r.json()["doc"] is None, r.text
    control = requests.get(f"{base}/select", params={"q": "color_s:red", "wt": "json"}, timeout=10, auth=auth).json()
    assert control["response"]["numFound"] == sum(d["color_s"] == "red" for d in cat.docs.values())

"""A seeded hypothesis fuzz of the HTTP API, shared by the bounded test and the long script.

Every generated request goes to the real app over the real Solr (the hand-made catalog of
``api_catalog``). The oracles: no answer is a 5xx; every error is the one shape; a filter
answers only products with that value (a value cannot choose its own clauses); a product, an
image or a "similar to" answers 200 only for an id the catalog has (an id cannot pull in others).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

HOSTILE = ["}", "{!", '"', "\\", "*:*", "OR", "AND", "NOT", "(", ")", ":", "$q", "$", "${", "${x}", "${text}",
           "${x:red}", "{!lucene v=$q}", "{!join from=id to=id}", "{!frange l=0}", "\n", "\r\n", "\t", "%", "%00",
           "&", "=", "?", "#", "/", "..", "*", "[", "]", "^", "~", "-", "+", "'", ";", "<script>", "日本", "🙂",
           "\ud800", "\udfff", "\x00", "\x7f", "\u202e", " ", "a", "red", "a1", "color", "price", "1e308", "-1",
           "NaN", "Infinity", "0" * 600]
piece = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
hostile_text = st.lists(piece, max_size=6).map("".join)
numbers = st.one_of(st.integers(min_value=-10**12, max_value=10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0, 1, -1, 1e308, -1e308, 5e-324, 2**63]))
json_scalar = st.one_of(st.none(), st.booleans(), numbers, hostile_text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(hostile_text, inner, max_size=3)),
                          max_leaves=8)

FIELDS = ["color", "category", "price", "in_stock", "group", "id", "title", "nosuchfield"]
SEARCH_KEYS = ["like", "unlike", "vector", "text", "filters", "k", "offset", "mode", "min_similarity", "facets",
               "variants", "combine", "unlike_weight", "exclude_self", "in_stock", "candidates", "fields"]


@st.composite
def filter_body(draw) -> dict[str, Any]:
    f: dict[str, Any] = {"field": draw(st.one_of(st.sampled_from(FIELDS), hostile_text))}
    if draw(st.booleans()):
        f["values"] = draw(st.lists(st.one_of(st.sampled_from(["red", "blue", "hat"]), hostile_text, numbers),
                                    max_size=3))
    else:
        f["min"], f["max"] = draw(json_scalar), draw(json_scalar)
    return f


@st.composite
def search_body(draw) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_value)  # not even an object, sometimes
    keys = draw(st.lists(st.sampled_from(SEARCH_KEYS + ["junk"]), max_size=6, unique=True))
    body: dict[str, Any] = {}
    for k in keys:
        body[k] = draw({
            "like": st.lists(st.one_of(st.sampled_from(["a1", "b1", "e2", "nope"]), hostile_text), max_size=3),
            "unlike": st.lists(st.one_of(st.sampled_from(["c1", "d1"]), hostile_text), max_size=2),
            "vector": st.one_of(st.lists(numbers, min_size=0, max_size=6), json_value),
            "text": st.one_of(hostile_text, json_value),
            "filters": st.lists(filter_body(), max_size=3),
            "mode": st.one_of(st.sampled_from(["auto", "approx", "exact"]), hostile_text),
        }.get(k, json_value))
    return body


@st.composite
def get_request(draw) -> tuple[str, list[tuple[str, str]]]:
    pid = draw(st.one_of(st.sampled_from(["a1", "b2", "e1", "nope", "x-dotdot"]), hostile_text))
    route = draw(st.sampled_from(["/api/products/{}", "/api/products/{}/similar", "/images/{}",
                                  "/api/merch/navigate/{}", "/api/merch/navigate/start"]))
    params = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(["k", "offset", "filter", "facet", "mode", "min_similarity", "variants", "in_stock",
                                    "candidates", "pool", "diversity", "expandMacros", "q", "fq", "junk"]))
        if key == "filter":
            value = f"{draw(st.sampled_from(FIELDS))}:{draw(hostile_text)}"
        else:
            value = draw(st.one_of(hostile_text, numbers.map(str)))
        params.append((key, value))
    path = route.format(quote(pid.encode("utf-8", "surrogatepass"), safe="")) if "{}" in route else route
    return path, params


def as_json_bytes(body: Any) -> bytes:
    """JSON as a hostile client sends it: lone surrogates as \\ud800 escapes (httpx would refuse them)."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def query_string(params: list[tuple[str, str]]) -> str:
    """Parameters percent-encoded byte by byte, a lone surrogate as its (invalid) UTF-8 bytes."""
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params)


def check(resp, catalog_ids: set[str], stats: Counter) -> None:
    """The oracles; ``stats`` counts answers by status class."""
    stats[f"{resp.status_code // 100}xx"] += 1
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400 and resp.headers.get("content-type", "").startswith("application/json"):
        body = resp.json()
        assert set(body) == {"error", "status"} and body["status"] == resp.status_code
        assert "Traceback" not in body["error"] and "products_" not in body["error"]
    if resp.status_code == 200 and resp.headers.get("content-type", "").startswith("application/json"):
        data = resp.json()
        for p in data.get("products", []) if isinstance(data, dict) else []:
            assert p["id"] in catalog_ids, f"a product that is not in the catalog: {p['id']!r}"


def check_filter(resp, field: str, value: str, docs: dict[str, dict]) -> None:
    """A filter answers only products with exactly that value (macros, local params, quotes inert)."""
    if resp.status_code != 200:
        return
    for p in resp.json().get("products", []):
        stored = docs[p["id"]].get(f"{field}_s", docs[p["id"]].get(field))
        assert str(stored) in (value, value.strip()), f"filter {field}:{value!r} let {p['id']} ({stored!r}) through"

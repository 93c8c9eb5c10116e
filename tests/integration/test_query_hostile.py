"""Hypothesis against the real Solr: any filter value, id or text matches only itself.

Each example writes a product whose colour, tag and id are the generated value (plus a
control product whose values differ by one character), then asks for that value through the
query layer. If any value could change the query's structure (``*:*``, ``OR``, ``{!...}``,
a stray quote), the answer would contain other products or fail with a syntax error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query.client import SearchService
from query.models import SearchRequest, SimilarRequest

pytestmark = pytest.mark.integration

DIMS = 4
HOSTILE = ["}", "{!", '"', "\\", "*:*", "OR", "AND", "NOT", "(", ")", ":", "$q", "{!lucene}*:*", "\n", "$", "${", "${x}", "${q}", "${text}", "${x:red}", "{!lucene v=$q}", "{!join from=id to=id}", "日本", "🙂", "*", "?", "[", "]", "-", "+", "!", "^", "~", "/"]
values = st.one_of(
    st.lists(st.sampled_from(HOSTILE + ["a", " "]), min_size=1, max_size=6).map("".join),
    st.text(min_size=1, max_size=20),
).filter(lambda v: v.strip() != "" and "," not in v and v == v.strip() and "\x00" not in v)


@pytest.fixture
def hostile_service(solr, collection_factory):
    name = collection_factory(dims=DIMS, shards=2)
    rng = np.random.default_rng(5)
    docs = []
    for i in range(30):  # ordinary neighbours, so "everything" would be visible
        v = rng.normal(size=DIMS)
        docs.append({"id": f"n{i}", "color_s": "plain", "tags_ss": ["plain"], "group": "n", "vector": (v / np.linalg.norm(v)).tolist()})
    solr.client.add(name, docs, commit=True)
    return SearchService(solr.settings, solr.client, collection=name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=values)
def test_any_value_matches_only_itself(solr, hostile_service, value):
    svc = hostile_service
    control = value + "x"
    docs = [
        {"id": value, "color_s": value, "tags_ss": [value], "group": value, "vector": [1.0, 0.0, 0.0, 0.0]},
        {"id": control, "color_s": control, "tags_ss": [control], "group": control, "vector": [0.0, 1.0, 0.0, 0.0]},
    ]
    solr.client.add(svc.collection, docs, commit=True)
    try:
        for field in ("color", "tags", "group"):
            resp = svc.similar(SimilarRequest(id="n0", k=50, candidates=100, min_similarity=-1, mode="approx",
                                              filters=[{"field": field, "values": [value]}]))
            assert [p.id for p in resp.products] == [value], field
        resp = svc.search(SearchRequest(vector=(1.0, 0.0, 0.0, 0.0), k=50, min_similarity=-1, mode="approx",
                                        like=(value,), exclude_self=True, variants="exclude"))
        assert value not in {p.id for p in resp.products} and len(resp.products) == 31
        assert svc.get_product(value).attributes["color"] == value
        text = svc.search(SearchRequest(text=value, k=50))
        assert {p.id for p in text.products} <= {value, control} | {f"n{i}" for i in range(30) if value == "plain"}
    finally:
        solr.client.post(f"{svc.collection}/update", {"commit": "true"},
                         json_body={"delete": [value, control]})

"""A bounded, seeded fuzz of the HTTP API in `make test` (see fuzz_http.py for the oracles).

Seeded: ``derandomize=True`` draws the same examples on every run. LOOKALIKE_FUZZ_EXAMPLES
sets the examples per test (default 300: about 2,000 requests in all); the long run is

    LOOKALIKE_FUZZ_EXAMPLES=3500 .venv/bin/pytest tests/integration/test_api_fuzz.py -s

(over 20,000 requests; the last test prints the counts by status).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api_catalog
from fuzz_http import as_json_bytes, check, check_filter, get_request, hostile_text, query_string, search_body

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("LOOKALIKE_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
STATS: Counter = Counter()


def post(api, path: str, body):
    return api.post(path, content=as_json_bytes(body), headers={"content-type": "application/json"})


cat, api = api_catalog.hand_made_fixtures("fuzz")


@FUZZ
@given(body=search_body())
def test_search_bodies(api, cat, body):
    check(post(api, "/api/search", body), set(cat.docs), STATS)


@FUZZ
@given(req=get_request())
def test_get_routes(api, cat, req):
    path, params = req
    resp = api.get(f"{path}?{query_string(params)}" if params else path)
    check(resp, set(cat.docs), STATS)
    if path.startswith("/api/products/") and not path.endswith("/similar") and resp.status_code == 200:
        assert resp.json()["id"] in cat.docs


@FUZZ
@given(field=st.sampled_from(["color", "category"]), value=hostile_text)
def test_a_filter_value_is_only_itself(api, cat, field, value):
    resp = api.get("/api/products/a1/similar?" + query_string([("filter", f"{field}:{value}"), ("k", "20"),
                                                              ("min_similarity", "-1")]))
    check(resp, set(cat.docs), STATS)
    if "|" not in value and ".." not in value:  # either-of and range syntax of the query string
        check_filter(resp, field, value, cat.docs)
    resp = post(api, "/api/search", {"like": ["a1"], "k": 20, "min_similarity": -1, "text": value,
                                     "filters": [{"field": field, "values": [value]}]})
    check(resp, set(cat.docs), STATS)
    check_filter(resp, field, value, cat.docs)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bodies(api, cat, raw):
    for path in ("/api/search", "/api/merch/preference"):
        check(api.post(path, content=raw, headers={"content-type": "application/json"}), set(cat.docs), STATS)


def test_report_the_counts():
    """Printed with -s; the counts of the run above (no 5xx is asserted per request)."""
    print(f"\nfuzz: {sum(STATS.values())} requests, by status: {dict(sorted(STATS.items()))}")
    assert STATS["5xx"] == 0
    if os.environ.get("LOOKALIKE_FUZZ_RESULTS"):  # the long run keeps its counts for BENCHMARKS.md
        import json
        from datetime import datetime, timezone
        from pathlib import Path

        Path(os.environ["LOOKALIKE_FUZZ_RESULTS"]).write_text(json.dumps({
            "examples": EXAMPLES, "requests": sum(STATS.values()), "status": dict(sorted(STATS.items())),
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}, indent=2) + "\n")

"""The planner's rule: explicit modes obeyed, exact-only features, then the filtered count."""

import pytest

from query.models import SearchRequest
from query.planner import (
    CLIENT_EXACT_MAX_DOCS,
    choose_mode,
    needs_count,
    planned_in_solr,
)


@pytest.mark.parametrize(
    "kw, count, expected",
    [
        ({"like": ("a",), "mode": "approx"}, None, "approx"),
        ({"like": ("a",), "mode": "exact"}, None, "exact"),
        ({"text": "red"}, None, "approx"),
        ({"like": ("a", "b"), "combine": "max"}, None, "exact"),
        ({"like": ("a",), "unlike": ("b",)}, None, "exact"),
        ({"like": ("a",)}, 999, "exact"),
        ({"like": ("a",)}, 1000, "exact"),
        ({"like": ("a",)}, 1001, "approx"),
        ({"like": ("a",), "combine": "max"}, 5000, "approx"),  # one example: max is mean
    ],
)
def test_choose_mode(kw, count, expected):
    request = SearchRequest(**kw)
    assert needs_count(request) == (count is not None)
    mode, reason = choose_mode(request, count, exact_max_docs=1000)
    assert mode == expected and reason


def test_auto_without_a_count_is_a_programming_error():
    with pytest.raises(ValueError):
        choose_mode(SearchRequest(like=("a",)), None)


@pytest.mark.parametrize(
    "kw, in_solr",
    [
        ({"like": ("a",)}, True),
        ({"like": ("a",), "mode": "approx"}, True),
        ({"vector": (1.0, 0.0)}, True),
        ({"like": ("a",), "unlike": ("b",), "text": "red"}, True),
        ({"text": "red"}, False),  # no image query: edismax alone
        ({"like": ("a,b",)}, False),  # the plugin's id lists cannot carry a comma
        ({"like": ("a ",)}, False),
        ({"like": ("a\x01",)}, False),  # Java's trim takes control characters off too
    ],
)
def test_requests_with_an_image_target_are_planned_in_solr(kw, in_solr):
    assert planned_in_solr(SearchRequest(**kw)) is in_solr


def test_client_planned_requests_default_to_the_crossover_floor():
    request = SearchRequest(like=("a",))
    assert choose_mode(request, CLIENT_EXACT_MAX_DOCS)[0] == "exact"
    assert choose_mode(request, CLIENT_EXACT_MAX_DOCS + 1)[0] == "approx"
    assert choose_mode(request, CLIENT_EXACT_MAX_DOCS + 1, exact_max_docs=10**6)[0] == "exact"

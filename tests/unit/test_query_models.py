"""Request models: defaults, validation sentences a user can act on, the CLI filter syntax."""

import pytest

from lookalike.errors import BadRequest
from query.models import Filter, SearchRequest, SimilarRequest, parse_request


def test_defaults():
    r = SearchRequest(like=("p1",))
    assert (r.exclude_self, r.variants, r.k, r.offset, r.candidates, r.mode) == (True, "include", 10, 0, 100, "auto")
    assert r.min_similarity is None and r.filters == () and r.facets == ()


def test_requests_are_frozen():
    r = SearchRequest(like=("p1",))
    with pytest.raises(Exception):
        r.k = 5  # type: ignore[misc]


def test_similar_request_becomes_a_search_request():
    s = SimilarRequest(id="p1", k=5, filters=[{"field": "color", "values": ["red"]}], variants="collapse")
    r = s.to_search()
    assert r.like == ("p1",) and r.k == 5 and r.variants == "collapse"
    assert r.filters == (Filter(field="color", values=("red",)),)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({}, "say what to search for"),
        ({"like": ["a"], "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"like": ["a"], "k": 101}, "k: Input should be less than or equal to 100"),
        ({"like": ["a"], "min_similarity": 1.5}, "min_similarity: Input should be less than or equal to 1"),
        ({"like": ["a"], "mode": "fast"}, "mode: Input should be 'approx', 'exact' or 'auto'"),
        ({"like": ["a"], "variants": "drop"}, "variants: Input should be 'exclude', 'collapse' or 'include'"),
        ({"like": ["a"], "colour": "red"}, "colour: is not a known option"),
        ({"like": ["a", "a"]}, "the same product id is given twice"),
        ({"like": ["a"], "unlike": ["a"]}, "both a like and an unlike"),
        ({"unlike": ["a"], "text": "red"}, "unlike examples need a positive target"),
        ({"text": "red", "min_similarity": 0.5}, "min_similarity needs an image target"),
        ({"vector": [0, 0, 0]}, "must not be all zeros"),
        ({"vector": [1, float("nan")]}, "finite"),
        ({"like": ["a"], "offset": 95, "k": 10}, "offset + k (105) is beyond the similar set of 100"),
        ({"like": ["a"], "filters": [{"field": "price"}]}, "needs either values or a min/max range"),
        ({"like": ["a"], "filters": [{"field": "price", "min": 5, "max": 1}]}, "min 5.0 is greater than max 1.0"),
        ({"like": ["a"], "filters": [{"field": "color", "values": [""]}]}, "must not be empty strings"),
    ],
)
def test_validation_errors_are_sentences(data, fragment):
    with pytest.raises(BadRequest) as err:
        parse_request(SearchRequest, data)
    assert fragment in str(err.value)


def test_paging_past_the_similar_set_is_fine_with_a_threshold():
    r = parse_request(SearchRequest, {"like": ["a"], "offset": 500, "k": 10, "min_similarity": 0.2})
    assert r.offset == 500


def test_blank_text_means_no_text():
    assert SearchRequest(like=("a",), text="   ").text is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("color=red", Filter(field="color", values=("red",))),
        ("color=red|light blue", Filter(field="color", values=("red", "light blue"))),
        ("price=10..50", Filter(field="price", min=10, max=50)),
        ("price=..20", Filter(field="price", max=20)),
        ("price=5..", Filter(field="price", min=5)),
        ("note=a=b", Filter(field="note", values=("a=b",))),
    ],
)
def test_cli_filter_syntax(text, expected):
    assert Filter.parse(text) == expected


@pytest.mark.parametrize("text", ["color", "=red", "price=a..b", "color="])
def test_cli_filter_syntax_errors(text):
    with pytest.raises(BadRequest):
        Filter.parse(text)


@pytest.mark.parametrize(
    "colon, equals",
    [("color:red", "color=red"), ("price:10..50", "price=10..50"), ("note:a=b", "note=a=b"), ("url:a:b", "url=a:b")],
)
def test_one_filter_grammar_colon_or_equals(colon, equals):
    assert Filter.parse(colon) == Filter.parse(equals)
    assert Filter.parse("note:a=b").values == ("a=b",) and Filter.parse("note=a:b").values == ("a:b",)

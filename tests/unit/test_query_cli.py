"""The similar/search CLI: arguments become the request the API would build; the table."""

import argparse

import pytest

from lookalike.errors import BadRequest
from query.cli import _options, format_table, register
from query.models import Facet, FacetBucket, Filter, Product, SearchResponse, SimilarRequest, parse_request


def parse(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_similar_arguments_become_a_request():
    args = parse(["similar", "p1", "--filter", "color=red|blue", "--filter", "price=..50", "-k", "5",
                  "--min-similarity", "0.4", "--facet", "color", "--mode", "exact", "--variants", "collapse",
                  "--in-stock", "--include-self"])
    r = parse_request(SimilarRequest, {"id": args.id, **_options(args)})
    assert r == SimilarRequest(
        id="p1", k=5, min_similarity=0.4, facets=("color",), mode="exact", variants="collapse", in_stock=True,
        exclude_self=False, filters=(Filter(field="color", values=("red", "blue")), Filter(field="price", max=50)),
    )


def test_search_arguments():
    args = parse(["search", "--like", "a", "--like", "b", "--unlike", "c", "--text", "red", "--out-of-stock"])
    assert (args.like, args.unlike, args.text, args.in_stock, args.image) == (["a", "b"], ["c"], "red", False, None)


def test_bad_cli_values_are_bad_requests():
    args = parse(["similar", "p1", "-k", "0"])
    with pytest.raises(BadRequest, match="k: Input should be greater than or equal to 1"):
        parse_request(SimilarRequest, {"id": args.id, **_options(args)})
    with pytest.raises(BadRequest, match="should look like field=value"):
        _options(parse(["similar", "p1", "--filter", "color"]))


def test_table():
    r = SearchResponse(
        products=(Product(id="p2", title="red\ndress", group="g", price=9.5, score=0.9, similarity=0.8),),
        total=42, similar_set="top", mode="approx", mode_reason="why", solr_requests=2, qtime_ms=3, took_ms=4.5,
        facets=(Facet(name="color", field="color_s", buckets=(FacetBucket(value="red", count=7),)),),
    )
    lines = format_table(r).splitlines()
    assert lines[1].split() == ["1", "0.8000", "0.9000", "p2", "red", "dress", "g", "9.50"]
    assert lines[2] == "facet color: red (7)"
    assert lines[3] == (
        "42 products in the similar set; mode approx (why); Solr QTime 3 ms over 2 request(s), 4.5 ms in all"
    )

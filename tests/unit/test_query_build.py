"""build_params: whole parameter dictionaries for each kind of request."""

import json

import numpy as np
import pytest

from lookalike.errors import BadRequest
from query.build import (
    DEFAULT_FIELDS,
    Target,
    build_params,
    combine_vectors,
    cosine_to_score,
    count_params,
    browse_params,
    order_page,
    page_fields,
    score_to_cosine,
)
from query.facets import facet_params, own_filter_facets
from query.models import BrowseRequest, SearchRequest

from test_query_schema import products_schema

SCHEMA = products_schema()
VEC = (0.5, 0.5, 0.5, 0.5)
VEC_S = "[0.5,0.5,0.5,0.5]"
FL = "id,title,group,price,in_stock,image,images,*_s,*_ss,*_l,*_d,*_b,score"


def build(mode="approx", target=Target(vector=VEC), **kw):
    return build_params(SearchRequest(**kw), SCHEMA, mode=mode, target=target)


def test_approx_similar_by_id_excludes_itself_and_prefilters():
    assert build(like=("p1",)) == {
        "q": "{!knn f=vector topK=600 includeTags=filter v=$vec}",
        "vec": VEC_S,
        "fq": ['{!lucene tag=filter,exclude}*:* -id:("p1")'],
        "sort": "score desc,id asc",
        "start": 0,
        "rows": 10,
        "fl": FL,
        "minExactCount": 100,  # the top-N set: the client counts it up to N
    }


@pytest.mark.parametrize("mode", ["auto", "exact", "approx"])
def test_planned_in_solr_the_plugin_leaves_the_examples_out(mode):
    """No per-query ``-id:(...)`` fq (a DocSet of nearly the whole index per query): the plugin's
    ``excludeExamples``; the user's filters stay ``fq``'s, the pre-filter."""
    color = [{"field": "color", "values": ["red"]}]
    p = build_params(SearchRequest(like=("p1", "p2"), filters=color), SCHEMA, mode=mode, in_solr=True)
    assert p["fq"] == ['{!lucene tag=filter,f_color_s}color_s:("red")']
    assert "excludeExamples=true" in p["q"]
    kept = build_params(SearchRequest(like=("p1",), exclude_self=False), SCHEMA, mode=mode, in_solr=True)
    assert "excludeExamples" not in kept["q"] and "fq" not in kept


def test_approx_with_filters_variants_excluded_and_paging():
    p = build(
        like=("p1", "p2"),
        filters=[
            {"field": "color", "values": ["red", "light blue"]},
            {"field": "price", "min": 10, "max": 20.5},
            {"field": "size", "min": 1.5},
            {"field": "organic", "values": ["TRUE"]},
            {"field": "size", "values": [3, "4"]},
        ],
        in_stock=True,
        variants="exclude",
        k=5,
        offset=10,
        candidates=50,
        target=Target(vector=VEC, groups=("g2", "g1", "g2")),
    )
    assert p == {
        "q": "{!knn f=vector topK=600 includeTags=filter v=$vec}",
        "vec": VEC_S,
        "fq": [
            '{!lucene tag=filter,f_color_s}color_s:("red" OR "light blue")',
            "{!lucene tag=filter,f_price}price:[10 TO 20.5]",
            "{!lucene tag=filter,f_size_l}size_l:[2 TO *]",
            '{!lucene tag=filter,f_organic_b}organic_b:("true")',
            '{!lucene tag=filter,f_size_l}size_l:("3" OR "4")',
            "{!lucene tag=filter,f_in_stock}in_stock:true",
            '{!lucene tag=filter,exclude}*:* -id:("p1" OR "p2") -group:("g1" OR "g2")',
        ],
        "sort": "score desc,id asc",
        "start": 10,
        "rows": 5,
        "fl": FL,
        "minExactCount": 50,
    }


def test_include_self_and_variants_has_no_exclusion_fq():
    p = build(like=("p1",), exclude_self=False)
    assert "fq" not in p


def test_collapse_is_an_untagged_post_filter_and_knn_overfetches():
    p = build(like=("p1",), variants="collapse", exclude_self=False, candidates=200)
    assert p["q"] == "{!knn f=vector topK=600 includeTags=filter v=$vec}"  # 3 x 200
    assert p["fq"] == ["{!collapse field=group nullPolicy=expand}"]


def test_min_similarity_in_approx_is_a_vector_similarity_threshold_on_the_score_scale():
    p = build(like=("p1",), min_similarity=0.6, facets=("color",))
    assert p["q"] == "{!vectorSimilarity f=vector minReturn=0.8 minTraverse=0.75 includeTags=filter v=$vec}"
    assert (p["start"], p["rows"]) == (0, 10)
    assert json.loads(p["json.facet"]) == {
        "color_s": {"type": "terms", "field": "color_s", "limit": 10, "mincount": 1, "refine": True, "sort": "count desc"}
    }


def test_facets_over_the_top_set_fetch_the_whole_set_and_facet_later():
    p = build(like=("p1",), facets=("color", "tags"), candidates=40, k=5, offset=5)
    assert (p["start"], p["rows"]) == (0, 40)
    assert "json.facet" not in p
    # the set as ids and scores (each product's stored fields cost ~80 us): the page is read after
    assert p["fl"] == "id,score"
    assert build(like=("p1",), sort="price_desc", candidates=40)["fl"] == "id,price,score"
    assert build(like=("p1",), k=5)["fl"] == FL  # the page itself: every field at once
    assert page_fields(SearchRequest(like=("p1",), facets=("color",)), SCHEMA) == FL.removesuffix(",score")
    f = facet_params(SearchRequest(like=("p1",), facets=("color", "tags"), facet_limit=3), SCHEMA, ["a", 'b"c'])
    assert f == {
        "q": "*:*",
        "rows": 0,
        "fq": ['{!lucene}id:("a" OR "b\\"c")'],
        "json.facet": json.dumps(
            {
                "color_s": {"field": "color_s", "limit": 3, "mincount": 1, "refine": True, "sort": "count desc", "type": "terms"},
                "tags_ss": {"field": "tags_ss", "limit": 3, "mincount": 1, "refine": True, "sort": "count desc", "type": "terms"},
            },
            sort_keys=True,
        ),
    }
    assert facet_params(SearchRequest(like=("p1",), facets=("color",)), SCHEMA, [])["fq"] == ["-*:*"]


def test_exact_by_ids_reads_the_vectors_inside_solr():
    p = build(
        mode="exact",
        target=Target(),
        like=("p1", "p2"),
        unlike=("p3",),
        combine="max",
        unlike_weight=0.5,
        min_similarity=-0.25,
        exclude_self=False,
    )
    assert p == {
        "q": "{!lookalike f=vector like=$like unlike=$unlike unlikeWeight=0.5 combine=max minSimilarity=-0.25}",
        "like": "p1,p2",
        "unlike": "p3",
        "sort": "score desc,id asc",
        "start": 0,
        "rows": 10,
        "fl": FL,
    }


def test_exact_with_an_inline_vector():
    p = build(mode="exact", vector=VEC, fields=("title", "color"))
    assert p == {
        "q": "{!lookalike f=vector vector=$vec}",
        "vec": VEC_S,
        "sort": "score desc,id asc",
        "start": 0,
        "rows": 10,
        "fl": "id,title,color_s,score",
        "minExactCount": 100,
    }


def test_exact_refuses_ids_with_commas():
    with pytest.raises(BadRequest, match="contains a comma"):
        build(mode="exact", target=Target(), like=("a,b",))


def test_approx_refuses_combine_max():
    with pytest.raises(BadRequest, match="combine=max needs mode=exact"):
        build(like=("a", "b"), combine="max")
    assert build(like=("a",), combine="max")["q"].startswith("{!knn")  # one example: nothing to combine


def test_text_alone_is_edismax_with_facets_in_the_same_request():
    p = build(text='red "dress" OR {!x}', facets=("pattern",), target=Target())
    assert p == {
        "q": "{!edismax qf=$qf v=$text}",
        "qf": "title^2 color_s pattern_s tags_ss",
        "text": '"red" "\\"dress\\"" "OR" "{!x}"',
        "sort": "score desc,id asc",
        "start": 0,
        "rows": 10,
        "json.facet": json.dumps(
            {"pattern_s": {"field": "pattern_s", "limit": 10, "mincount": 1, "refine": True, "sort": "count desc", "type": "terms"}},
            sort_keys=True,
        ),
        "fl": FL,
    }


def test_text_with_an_image_reranks_with_a_bounded_text_score():
    p = build(like=("p1",), text="red", text_weight=0.25, exclude_self=False)
    assert p == {
        "q": "{!knn f=vector topK=600 includeTags=filter v=$vec}",
        "vec": VEC_S,
        "qf": "title^2 color_s pattern_s tags_ss",
        "text": '"red"',
        "tq": "{!edismax qf=$qf v=$text}",
        "rrq": "{!func}product(0.25,div(query($tq,0),sum(query($tq,0),2)))",
        "rq": "{!rerank reRankQuery=$rrq reRankDocs=100 reRankWeight=1}",
        "sort": "score desc,id asc",
        "start": 0,
        "rows": 10,
        "fl": FL.removesuffix(",score") + ",imgscore:vectorSimilarity(vector,[0.5,0.5,0.5,0.5]),score",
    }
    e = build(mode="exact", target=Target(), like=("p1",), text="red", exclude_self=False)
    assert e["img"] == e["q"] == "{!lookalike f=vector like=$like}"
    assert e["fl"].endswith(",imgscore:query($img,0),score")


def test_wrong_vector_width_is_a_bad_request():
    with pytest.raises(BadRequest, match="the query vector has 3 dimensions but the index has 4"):
        build(vector=(1.0, 0.0, 0.0), target=Target(vector=(1.0, 0.0, 0.0)))


@pytest.mark.parametrize(
    "filters, message",
    [
        ([{"field": "colr", "values": ["red"]}], "unknown filter field 'colr'; known: "),
        ([{"field": "color", "min": 1}], "a min/max range needs a numeric field"),
        ([{"field": "size", "values": ["big"]}], "'big' is not a number"),
        ([{"field": "size", "values": [1.5]}], "1.5 is not a whole number"),
        ([{"field": "organic", "values": ["yes"]}], "'yes' is not true or false"),
        ([{"field": "title", "values": ["x"]}], "cannot filter on 'title'"),
    ],
)
def test_filter_errors(filters, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(")):
        build(like=("p1",), filters=filters)


def test_unknown_facet_and_return_field():
    with pytest.raises(BadRequest, match="unknown facet field 'colour'"):
        build(like=("p1",), facets=("colour",))
    with pytest.raises(BadRequest, match="unknown field 'nope'"):
        build(like=("p1",), fields=("nope",))


def test_count_params_leave_out_collapse():
    r = SearchRequest(like=("p1",), variants="collapse", filters=[{"field": "color", "values": ["red"]}])
    assert count_params(r, SCHEMA) == {
        "q": "*:*",
        "rows": 0,
        "fq": ['{!lucene tag=filter,f_color_s}color_s:("red")', '{!lucene tag=filter,exclude}*:* -id:("p1")'],
    }


def test_score_scale():
    assert cosine_to_score(1) == 1 and cosine_to_score(-1) == 0 and cosine_to_score(0.5) == 0.75
    assert score_to_cosine(cosine_to_score(0.3)) == pytest.approx(0.3)


def test_combine_vectors_is_the_normalised_rocchio_vector():
    a, b, c = np.array([1.0, 0, 0]), np.array([0, 2.0, 0]), np.array([0, 0, 1.0])
    got = combine_vectors([a, b], [c], 0.5)
    want = np.array([0.5, 0.5, -0.5]) / np.linalg.norm([0.5, 0.5, -0.5])
    assert np.allclose(got, want)
    with pytest.raises(BadRequest, match="length zero"):
        combine_vectors([a], [a], 1.0)


def test_exact_with_an_inline_vector_and_liked_products():
    p = build(mode="exact", vector=VEC, like=("p1",), exclude_self=False)
    assert p["q"] == "{!lookalike f=vector vector=$vec like=$like combine=mean}"
    assert (p["vec"], p["like"]) == (VEC_S, "p1")
    with pytest.raises(BadRequest, match="starts or ends with white space"):
        build(mode="exact", target=Target(), like=(" p1",))


# -- multi-select facets, ordering, the catalog page ----------------------------------------

def _facet(field, **extra):
    return {"field": field, "limit": 10, "mincount": 1, "refine": True, "sort": "count desc", "type": "terms", **extra}


def test_text_facets_leave_out_their_own_filter_and_keep_the_others():
    p = build(text="red", facets=("color", "pattern"), filters=[{"field": "color", "values": ["red", "blue"]}],
              target=Target())
    assert p["fq"] == ['{!lucene tag=filter,f_color_s}color_s:("red" OR "blue")']
    assert json.loads(p["json.facet"]) == {
        "color_s": _facet("color_s", domain={"excludeTags": "f_color_s"}),
        "pattern_s": _facet("pattern_s"),
    }


def test_image_facets_on_a_filtered_field_are_counted_by_a_request_without_that_filter():
    request = SearchRequest(like=("p1",), facets=("color", "pattern", "in_stock"), in_stock=True, k=5, offset=5,
                            filters=[{"field": "color", "values": ["red"]}, {"field": "price", "max": 50}],
                            sort="price_asc")
    p = build_params(request, SCHEMA, mode="approx", target=Target(vector=VEC))
    assert "json.facet" not in p  # a top set is counted over its ids afterwards; kNN holds its pre-filter inside
    own = own_filter_facets(request, SCHEMA)
    assert [field for field, _ in own] == ["color_s", "in_stock"]
    color = own[0][1]
    assert color.filters == (request.filters[1],) and color.in_stock is True and color.facets == ("color",)
    stock = own[1][1]
    assert stock.filters == request.filters and stock.in_stock is None and stock.facets == ("in_stock",)
    assert (color.k, color.offset, color.sort, color.fields) == (1, 0, "relevance", ("id",))


def test_a_top_set_is_fetched_whole_by_score_and_ordered_by_price_afterwards():
    p = build(like=("p1",), sort="price_desc", k=5, offset=10, candidates=40)
    assert (p["sort"], p["start"], p["rows"]) == ("score desc,id asc", 0, 40)
    docs = [{"id": "a", "price": 5.0}, {"id": "b"}, {"id": "c", "price": 9.0}, {"id": "d", "price": 5.0}]
    assert [d["id"] for d in order_page(docs, "price_asc")] == ["a", "d", "c", "b"]
    assert [d["id"] for d in order_page(docs, "price_desc")] == ["c", "a", "d", "b"]
    assert order_page(docs, "relevance") == docs
    # a threshold set and text matches are sorted by Solr
    assert build(like=("p1",), min_similarity=0.5, sort="price_asc")["sort"] == "price asc,score desc,id asc"
    assert build(text="red", sort="price_desc", target=Target())["sort"] == "price desc,score desc,id asc"


def test_browse_filters_collapses_sorts_and_facets_without_their_own_filter():
    request = BrowseRequest(page=3, per_page=12, filters=[{"field": "color", "values": ["red", "blue"]}],
                            in_stock=True, facets=("color", "pattern"), variants="collapse", sort="price_asc")
    assert browse_params(request, SCHEMA) == {
        "q": "*:*",
        "sort": "price asc,id asc",
        "headsort": "price asc,id asc",
        "start": 24,
        "rows": 12,
        "fl": ",".join(DEFAULT_FIELDS),
        "fq": ['{!lucene tag=filter,f_color_s}color_s:("red" OR "blue")',
               "{!lucene tag=filter,f_in_stock}in_stock:true",
               "{!collapse field=group nullPolicy=expand sort=$headsort}"],
        "json.facet": json.dumps({"color_s": _facet("color_s", domain={"excludeTags": "f_color_s"}),
                                  "pattern_s": _facet("pattern_s")}, sort_keys=True),
    }
    assert browse_params(BrowseRequest(), SCHEMA) == {
        "q": "*:*", "sort": "id asc", "start": 0, "rows": 24, "fl": ",".join(DEFAULT_FIELDS)}
    with pytest.raises(BadRequest, match="unknown facet field 'colour'"):
        browse_params(BrowseRequest(facets=("colour",)), SCHEMA)


def test_only_a_top_n_set_lets_solr_stop_counting():
    assert build(vector=VEC, candidates=40)["minExactCount"] == 40  # numFound is used up to 40
    assert "minExactCount" not in build(vector=VEC, min_similarity=0.5)  # a threshold set counts all
    assert "minExactCount" not in build(vector=VEC, text="silk dress")  # reranked: every candidate
    assert "minExactCount" not in build_params(SearchRequest(text="silk"), SCHEMA, mode="approx")

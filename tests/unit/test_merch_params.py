"""Pure request building of the merchandising queries, compared as dictionaries and parsed back."""

import json

import pytest

from lookalike.errors import BadRequest
from merch.clusters import attribute_fields, missing_counts, parse_relatedness, relatedness_params
from merch.gaps import facet_params
from merch.records import Proposal
from merch.scoring import candidate_params


def test_relatedness_params_name_one_foreground_per_cluster_and_the_whole_catalog_as_background():
    params = relatedness_params(2, ["color_s", "pattern_s"], top=3)
    facets = json.loads(params.pop("json.facet"))
    assert params == {"q": "*:*", "rows": 0, "back": "*:*", "fore0": "cluster:0", "fore1": "cluster:1"}
    assert set(facets) == {"c0__color_s", "c0__pattern_s", "c1__color_s", "c1__pattern_s"}
    assert facets["c1__pattern_s"] == {
        "type": "terms", "field": "pattern_s", "limit": 3, "sort": {"r": "desc"}, "mincount": 1,
        "facet": {"r": "relatedness($fore1,$back)"},
    }
    with pytest.raises(ValueError):
        relatedness_params(1, ["pattern_s}"])


def test_parse_relatedness_keeps_positive_values_with_counts_and_shares():
    resp = {"response": {"numFound": 100}, "facets": {"c0__pattern_s": {"buckets": [
        {"val": "hawaiian", "count": 20, "r": {"relatedness": 0.8, "foreground_popularity": 0.15, "background_popularity": 0.2}},
        {"val": "solid", "count": 50, "r": {"relatedness": -0.3, "foreground_popularity": 0.02, "background_popularity": 0.5}},
    ]}, "c0__in_stock_b": {"buckets": [
        {"val": True, "count": 60, "r": {"relatedness": 0.1, "foreground_popularity": 0.18, "background_popularity": 0.6}},
    ]}}}
    out = parse_relatedness(resp, 1, ["in_stock_b", "pattern_s"], [20])
    assert out == [[
        {"attribute": "pattern", "field": "pattern_s", "value": "hawaiian", "relatedness": 0.8, "in_cluster": 15,
         "in_catalog": 20, "cluster_share": 0.75, "catalog_share": 0.2},
        {"attribute": "in_stock", "field": "in_stock_b", "value": "true", "relatedness": 0.1, "in_cluster": 18,
         "in_catalog": 60, "cluster_share": 0.9, "catalog_share": 0.6},
    ]]


def test_attribute_fields_and_missing_counts_leave_provenance_out():
    docs = [{"id": "a", "pattern_s": "x", "pattern_src_s": "human", "tags_ss": ["t"]}, {"id": "b", "in_stock_b": True}]
    assert attribute_fields(docs) == ["in_stock_b", "pattern_s", "tags_ss"]
    assert missing_counts(docs, [0, 1], attribute_fields(docs), 2) == [{"in_stock": 1}, {"pattern": 1, "tags": 1}]


def proposal(**kw):
    base = dict(id="p1", collection="c", attribute="pattern", field="pattern_s", value='ha"waii}an',
                positives=["a", "b"], negatives=["n"], unlike_weight=0.5)
    return Proposal(**{**base, **kw})


def test_candidate_params_pass_ids_by_reference_and_quote_the_value():
    params = candidate_params(proposal(), threshold=0.6, rows=50, fqs=['{!lucene tag=filter,f_color_s}color_s:("red")'],
                              fl="id,score")
    assert params == {
        "q": "{!lookalike f=vector like=$like combine=mean minSimilarity=0.6 unlike=$unlike unlikeWeight=0.5}",
        "like": "a,b", "unlike": "n",
        "fq": ['{!lucene tag=filter,f_color_s}color_s:("red")', '*:* -id:("a" OR "b" OR "n") -pattern_s:"ha\\"waii}an"'],
        "fl": "id,score", "rows": 50, "sort": "score desc,id asc",
    }
    lacking = candidate_params(proposal(negatives=[], combine="max"), threshold=-1, rows=5, fqs=[], fl="id",
                               only_lacking=True)
    assert lacking["q"] == "{!lookalike f=vector like=$like combine=max minSimilarity=-1}" and "unlike" not in lacking
    assert lacking["fq"] == ['*:* -id:("a" OR "b") -pattern_s:"ha\\"waii}an" -pattern_s:[* TO *]']
    with pytest.raises(BadRequest, match="between -1 and 1"):
        candidate_params(proposal(), threshold=1.5, rows=5, fqs=[], fl="id")


def test_gap_facets_count_all_and_lacking_by_the_grouping_field():
    params = facet_params("pattern_s", "category_s")
    facets = json.loads(params.pop("json.facet"))
    assert params == {"q": "*:*", "rows": 0}
    terms = {"type": "terms", "field": "category_s", "limit": -1, "missing": True, "sort": "index asc"}
    assert facets == {"all": terms, "lacking": {"type": "query", "q": "*:* -pattern_s:[* TO *]", "facet": {"by": terms}}}


def test_ranking_metrics_against_a_hand_count():
    import numpy as np

    from merch.evaluate import metrics, pick_examples

    rel = np.array([True, True, False, True, False, False])
    sims = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    m = metrics(rel, sims, thresholds=(0.65,))
    assert m["relevant"] == 3 and m["r_precision"] == round(2 / 3, 4)
    assert m["average_precision"] == round((1 + 1 + 3 / 4) / 3, 4)
    assert m["relevant_before_first_other"] == 2
    assert m["at_threshold"]["0.65"] == {"predicted": 3, "precision": round(2 / 3, 4), "recall": round(2 / 3, 4)}
    # F1 at 2 predicted: 2*1*(2/3)/(1+2/3) = 0.8; at 4: 2*0.75*1/1.75 = 0.857
    assert m["best_f1"] == {"f1": 0.8571, "threshold": 0.6, "predicted": 4, "precision": 0.75, "recall": 1.0}
    docs = [{"id": "a1", "group": "g1", "color_s": "red", "p": "x"}, {"id": "a2", "group": "g1", "color_s": "blue", "p": "x"},
            {"id": "b1", "group": "g2", "color_s": "red", "p": "x"}, {"id": "c1", "group": "g3", "color_s": "blue", "p": "x"}]
    assert pick_examples(docs, "p", "x") == ["a1", "c1"]

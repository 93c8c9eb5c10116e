"""Several images per product: the catalog's ``images``, the pure query building, the best pair."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.catalog import CatalogError, parse_lines
from query import multi_image
from query.build import Target, build_params
from query.models import SearchRequest
from query.schema import FieldInfo, Schema


def parse(obj):
    return next(parse_lines([json.dumps(obj)]))


def test_images_main_first_and_image_stays_valid():
    assert parse({"id": "a", "image": "a.jpg"}).images == ("a.jpg",)
    p = parse({"id": "b", "images": ["b.jpg", "b-back.jpg"]})
    assert (p.image, p.images) == ("b.jpg", ("b.jpg", "b-back.jpg"))
    assert parse({"id": "c", "image": "c.jpg", "images": ["c.jpg", "d.jpg"]}).images == ("c.jpg", "d.jpg")
    assert parse(p.to_json()) == p


@pytest.mark.parametrize("obj, words", [
    ({"id": "a", "image": "x.jpg", "images": ["y.jpg"]}, "is not the first of images"),
    ({"id": "a", "images": []}, "empty list"),
    ({"id": "a", "images": ["x.jpg", "x.jpg"]}, "twice"),
    ({"id": "a", "images": "x.jpg"}, "must be a list"),
    ({"id": "a", "images": ["x.jpg", "ftp://h/y.jpg"]}, "scheme"),
])
def test_bad_images_are_rejected_with_a_sentence(obj, words):
    got = parse(obj)
    assert isinstance(got, CatalogError) and words in str(got)


SCHEMA = Schema(fields={n: FieldInfo(n, "vector") for n in ("vector", "vector_1")}
                | {"color_s": FieldInfo("color_s", "string")}, vector_dims=2, image_fields=("vector", "vector_1"))


def test_exact_is_the_maxscore_of_one_plugin_clause_per_field_and_target():
    req = SearchRequest(like=("p1",), mode="exact", min_similarity=0.5)
    params = build_params(req, SCHEMA, mode="exact", target=Target(vectors=((1.0, 0.0), (0.0, 1.0))))
    assert params["q"] == ("{!maxscore tie=0}"
                           "{!lookalike f=vector vector=$vec_0 minSimilarity=0.5} {!lookalike f=vector vector=$vec_1 minSimilarity=0.5} "
                           "{!lookalike f=vector_1 vector=$vec_0 minSimilarity=0.5} {!lookalike f=vector_1 vector=$vec_1 minSimilarity=0.5}")
    assert params["vec_0"] == "[1.0,0.0]" and params["vec_1"] == "[0.0,1.0]"


def test_approx_clauses_carry_every_filter_but_collapse_as_prefilter():
    req = SearchRequest(vector=(1.0, 0.0), mode="approx", variants="collapse",
                        filters=[{"field": "color", "values": ["red"]}])
    params = build_params(req, SCHEMA, mode="approx", target=Target(vector=(1.0, 0.0), vectors=((1.0, 0.0),)))
    assert params["pf_0"] == params["fq"][0] and params["fq"][-1].startswith("{!collapse")
    assert "pf_1" not in params
    assert params["q"] == ("{!maxscore tie=0}{!knn f=vector topK=300 preFilter=$pf_0 v=$vec_0} "
                           "{!knn f=vector_1 topK=300 preFilter=$pf_0 v=$vec_0}")


def test_best_pair_names_the_product_image_closest_to_any_target():
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    a = np.array([[0.6, 0.8], [0.0, -1.0]])
    b = np.array([[-1.0, 0.0], [0.1, 0.995], [0.99, 0.141]])
    assert [n for n, _ in multi_image.best_pairs(targets, [a, b])] == [0, 1]
    assert multi_image.best_pairs(targets, [a])[0][1] == pytest.approx(0.8)

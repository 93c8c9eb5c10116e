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
    req = SearchRequest(vector=(1.0, 0.0), mode="approx", variants="collapse", candidates=200,
                        filters=[{"field": "color", "values": ["red"]}])
    params = build_params(req, SCHEMA, mode="approx", target=Target(vector=(1.0, 0.0), vectors=((1.0, 0.0),)))
    assert params["pf_0"] == params["fq"][0] and params["fq"][-1].startswith("{!collapse")
    assert "pf_1" not in params
    assert params["q"] == ("{!maxscore tie=0}{!knn f=vector topK=600 preFilter=$pf_0 v=$vec_0} "
                           "{!knn f=vector_1 topK=600 preFilter=$pf_0 v=$vec_0}")


def test_best_pair_names_the_product_image_closest_to_any_target():
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    a = np.array([[0.6, 0.8], [0.0, -1.0]])
    b = np.array([[-1.0, 0.0], [0.1, 0.995], [0.99, 0.141]])
    assert [n for n, _ in multi_image.best_pairs(targets, [a, b])] == [0, 1]
    assert multi_image.best_pairs(targets, [a])[0][1] == pytest.approx(0.8)


# -- explaining a match (query/explain.py) ---------------------------------------------------

from PIL import Image  # noqa: E402

from query import explain  # noqa: E402


def test_shared_attributes_are_equal_values_and_common_list_items():
    a = {"color": "red", "tags": ["summer", "cotton"], "size": "M", "rating": 4.0}
    b = {"color": "red", "tags": ["cotton", "wool"], "size": "L", "rating": 4.0}
    assert explain.shared_attributes(a, b) == {"color": "red", "tags": ["cotton"], "rating": 4.0}


def test_patches_slide_over_every_cell_inside_the_picture():
    boxes = explain.occlusion_boxes(120, 60, 3)
    assert len(boxes) == 9
    assert boxes[0] == (0, 0, 60, 30) and boxes[4] == (20, 10, 100, 50) and boxes[8] == (60, 30, 120, 60)
    pics = explain.occluded_pictures(Image.new("RGB", (120, 60), (255, 255, 255)), 3)
    assert len(pics) == 10 and pics[0].getpixel((60, 30)) == (255, 255, 255)
    assert pics[5].getpixel((60, 30)) == explain.GREY and pics[1].getpixel((100, 50)) == (255, 255, 255)


def test_weights_are_the_similarity_each_patch_costs():
    other = np.array([1.0, 0.0])
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [1.0, 0.0], [1.0, 0.1], [-1.0, 0.0]])
    w = explain.occlusion_weights(vectors, other, 2)
    assert w.shape == (2, 2)
    assert w[0, 0] == pytest.approx(0.4) and w[0, 1] == 0.0 and w[1, 1] == pytest.approx(2.0)
    assert explain.overlay_png(Image.new("RGB", (64, 32)), w).startswith("data:image/png;base64,")
    with pytest.raises(ValueError):
        explain.occlusion_weights(vectors[:3], other, 2)

"""A products schema as Solr's /schema API describes it, for the pure query tests."""

from query.schema import Schema

FIELD_TYPES = [
    {"name": "string", "class": "solr.StrField", "docValues": True},
    {"name": "strings", "class": "solr.StrField", "multiValued": True, "docValues": True},
    {"name": "text_en", "class": "solr.TextField"},
    {"name": "pdouble", "class": "solr.DoublePointField", "docValues": True},
    {"name": "plong", "class": "solr.LongPointField", "docValues": True},
    {"name": "pint", "class": "solr.IntPointField", "docValues": True},
    {"name": "boolean", "class": "solr.BoolField"},
    {"name": "knn_vector", "class": "solr.DenseVectorField", "vectorDimension": 4, "similarityFunction": "dot_product"},
]
FIELDS = [
    {"name": "id", "type": "string"},
    {"name": "title", "type": "text_en"},
    {"name": "group", "type": "string"},
    {"name": "price", "type": "pdouble"},
    {"name": "in_stock", "type": "boolean"},
    {"name": "image", "type": "string"},
    {"name": "model", "type": "string"},
    {"name": "pca_version", "type": "string"},
    {"name": "cluster", "type": "pint"},
    {"name": "vector", "type": "knn_vector"},
    {"name": "_version_", "type": "plong"},
]
DYNAMIC_INSTANCES = [
    {"name": "color_s", "type": "string"},
    {"name": "pattern_s", "type": "string"},
    {"name": "tags_ss", "type": "strings", "multiValued": True},
    {"name": "size_l", "type": "plong"},
    {"name": "weight_d", "type": "pdouble"},
    {"name": "organic_b", "type": "boolean"},
]


def products_schema() -> Schema:
    return Schema.from_solr({"fieldTypes": FIELD_TYPES, "fields": FIELDS}, DYNAMIC_INSTANCES)


# -- the allow-list ------------------------------------------------------------------------

import pytest  # noqa: E402

from lookalike.errors import BadRequest  # noqa: E402


def test_attributes_resolve_with_or_without_their_suffix():
    s = products_schema()
    assert s.resolve("color").name == "color_s"
    assert s.resolve("color_s").name == "color_s"
    assert s.resolve("tags").multi_valued
    assert s.resolve("price").kind == "double"
    assert s.resolve("size").kind == "long"
    assert s.vector_dims == 4


def test_unknown_field_lists_the_known_ones():
    with pytest.raises(BadRequest) as err:
        products_schema().resolve("colr")
    msg = str(err.value)
    assert msg.startswith("unknown field 'colr'; known: ")
    assert "color" in msg and "pattern" in msg and "color_s" not in msg
    assert "vector" not in msg.split("known: ")[1].split(", ")


def test_internal_and_vector_fields_are_not_names_a_user_can_use():
    s = products_schema()
    for name in ("_version_", "vector", "color_*", "", "id OR 1", "{!x}"):
        with pytest.raises(BadRequest):
            s.resolve(name)


def test_filters_and_facets_refuse_text_fields():
    s = products_schema()
    with pytest.raises(BadRequest, match="cannot filter on 'title'"):
        s.filter_field("title")
    with pytest.raises(BadRequest, match="cannot facet on 'title'"):
        s.facet_field("title")
    assert s.facet_field("organic").name == "organic_b"


def test_text_fields_are_title_first_then_string_attributes():
    assert products_schema().text_fields() == ["title", "color_s", "pattern_s", "tags_ss"]

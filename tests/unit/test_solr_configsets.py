"""The configsets as files: what the schema promises, and how a collection's vector type looks."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from lookalike.errors import BadRequest
from lookalike.fields import FIXED_FIELDS, SUFFIXES, VECTOR_FIELD
from lookalike.solr import cloud

PRODUCTS = cloud.CONFIGSETS_DIR / "products"
META = cloud.CONFIGSETS_DIR / "lookalike_meta"


def _schema(directory):
    return ET.parse(directory / "managed-schema.xml").getroot()


def _fields(root):
    return {f.get("name"): f for f in root.findall("field")}


def _types(root):
    return {t.get("name"): t for t in root.findall("fieldType")}


def test_products_schema_has_every_fixed_field_and_no_vector():
    root = _schema(PRODUCTS)
    assert root.get("version") == "1.6"
    assert root.findtext("uniqueKey") == "id"
    fields = _fields(root)
    for name in (*FIXED_FIELDS, "cluster", "_version_", "_root_"):
        assert name in fields, name
    assert VECTOR_FIELD not in fields  # added per collection, with its own width
    assert not [t for t in _types(root).values() if t.get("class") == "solr.DenseVectorField"]


def test_products_field_types():
    root = _schema(PRODUCTS)
    fields, types = _fields(root), _types(root)
    kind = {name: types[f.get("type")].get("class") for name, f in fields.items()}
    assert kind["id"] == "solr.StrField"
    assert kind["title"] == "solr.TextField"
    assert kind["price"] in ("solr.DoublePointField", "solr.FloatPointField")
    assert kind["in_stock"] == "solr.BoolField"
    assert kind["cluster"] == "solr.IntPointField"
    assert fields["group"].get("docValues") == "true"  # collapse needs it
    assert fields["cluster"].get("docValues") == "true"
    dynamic = {d.get("name"): types[d.get("type")] for d in root.findall("dynamicField")}
    for suffix in SUFFIXES:
        assert f"*{suffix}" in dynamic, suffix
    assert dynamic["*_ss"].get("multiValued") == "true"
    assert dynamic["*_l"].get("class") == "solr.LongPointField"
    assert dynamic["*_d"].get("class") == "solr.DoublePointField"
    assert dynamic["*_b"].get("class") == "solr.BoolField"


def test_solrconfig_registers_our_parser_and_a_mutable_managed_schema():
    root = ET.parse(PRODUCTS / "solrconfig.xml").getroot()
    parsers = {p.get("name"): p.get("class") for p in root.findall("queryParser")}
    assert parsers["lookalike"] == "io.lookalike.solr.LookalikeQParserPlugin"
    factory = root.find("schemaFactory")
    assert factory.get("class") == "ManagedIndexSchemaFactory"
    assert factory.find("bool[@name='mutable']").text == "true"
    assert not root.findall("lib")  # ignored since Solr 9.8: the jar is on the classpath


def test_the_packed_filter_vectors_cache_is_bounded_by_the_setting():
    from lookalike.settings import Settings

    root = ET.parse(PRODUCTS / "solrconfig.xml").getroot()
    caches = {c.get("name"): c for c in root.find("query").findall("cache")}
    cache = caches["lookalikeFilterVectors"]  # FilterVectors.CACHE in the plugin
    default = Settings.model_fields["filter_vectors_mb"].default
    assert cache.get("maxRamMB") == f"${{lookalike.filterVectorsMB:{default}}}"  # the node's -D, else the same
    assert cache.get("autowarmCount") == "0"  # a copy belongs to its searcher


def test_meta_schema_keeps_a_large_payload_stored_only():
    fields = _fields(_schema(META))
    types = _types(_schema(META))
    payload = fields["payload"]
    assert payload.get("indexed") == "false" and payload.get("stored") == "true"
    assert payload.get("docValues") == "false"
    assert types[payload.get("type")].get("class") == "solr.StrField"


def test_vector_field_type_is_dot_product_hnsw():
    ft = cloud.vector_field_type(256)
    assert ft["name"] == "knn_vector_256"
    assert ft["class"] == "solr.DenseVectorField"
    assert ft["vectorDimension"] == 256
    assert ft["similarityFunction"] == "dot_product"
    assert ft["knnAlgorithm"] == "hnsw"


def test_a_quantized_vector_type_is_the_plugins_and_otherwise_the_same():
    from typing import get_args

    from lookalike.fields import VECTOR_QUANTIZATIONS
    from lookalike.settings import Settings

    assert get_args(Settings.model_fields["vector_quantization"].annotation) == VECTOR_QUANTIZATIONS
    assert cloud.vector_field_type(256, quantization="none") == cloud.vector_field_type(256)
    for q in ("int7", "int4"):
        ft = cloud.vector_field_type(256, quantization=q)
        assert ft["name"] == f"knn_vector_256_{q}" and ft["quantization"] == q
        assert ft["class"] == "io.lookalike.solr.QuantizedDenseVectorField"
        rest = {k: v for k, v in ft.items() if k not in ("name", "class", "quantization")}
        assert rest == {k: v for k, v in cloud.vector_field_type(256).items() if k not in ("name", "class")}
    with pytest.raises(BadRequest, match="got 'int8'"):
        cloud.vector_field_type(256, quantization="int8")
    with pytest.raises(BadRequest, match="needs an even width, got 255"):
        cloud.vector_field_type(255, quantization="int4")
    assert cloud.vector_field_type(255, quantization="int7")["vectorDimension"] == 255


def test_the_products_configset_uses_the_plugins_codec_factory():
    root = ET.parse(PRODUCTS / "solrconfig.xml").getroot()
    assert root.find("codecFactory").get("class") == "io.lookalike.solr.LookalikeCodecFactory"


def test_zip_configset_has_files_at_its_root():
    names = zipfile.ZipFile(io.BytesIO(cloud.zip_configset(PRODUCTS))).namelist()
    assert set(names) >= {"solrconfig.xml", "managed-schema.xml"}


def test_zip_configset_refuses_a_directory_without_solrconfig(tmp_path):
    with pytest.raises(BadRequest, match="no solrconfig.xml"):
        cloud.zip_configset(tmp_path)


@pytest.mark.parametrize("name", ["products_20240101", "a.b-c", "X1"])
def test_check_name_accepts(name):
    assert cloud.check_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", ".x", "a b", "a/b", "a:b"])
def test_check_name_rejects(name):
    with pytest.raises(BadRequest):
        cloud.check_name(name)

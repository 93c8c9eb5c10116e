"""How catalog attributes map to Solr fields, shared by the indexer and the query layer.

Fixed fields of the ``products`` configset: ``id``, ``title``, ``group``, ``price``,
``in_stock``, ``image``, ``model``, ``pca_version``, and the dense vector ``vector``.
Every other catalog attribute is stored in a dynamic field named by its type:

=================  ==========  ===============
catalog value      suffix      Solr type
=================  ==========  ===============
string             ``_s``      string (facet)
list of strings    ``_ss``     multi-valued string
integer            ``_l``      plong
float              ``_d``      pdouble
boolean            ``_b``      boolean
=================  ==========  ===============

Users name attributes without suffix (``color``); :func:`attribute_name` strips it.
"""

from __future__ import annotations

from typing import Any

from lookalike.errors import BadRequest

FIXED_FIELDS = ("id", "title", "group", "price", "in_stock", "image", "images", "model", "pca_version")
VECTOR_FIELD = "vector"
# Several images per product (Solr 9.10 has no multi-valued vectors): image n of a product (0 the
# main one) has its vector in field ``vector`` (n = 0) or ``vector_<n>``, and ``images`` lists the
# references of the images that have one, in that order, so images[n] is what vector field n saw.
IMAGES_FIELD = "images"
MAX_IMAGES_PER_PRODUCT = 8


def image_vector_field(n: int) -> str:
    """The vector field of a product's image ``n`` (0: the main image, ``vector``)."""
    if not 0 <= n < MAX_IMAGES_PER_PRODUCT:
        raise ValueError(f"image position {n} is outside 0..{MAX_IMAGES_PER_PRODUCT - 1}")
    return VECTOR_FIELD if n == 0 else f"{VECTOR_FIELD}_{n}"


def image_vector_fields(count: int) -> tuple[str, ...]:
    """The vector fields of the first ``count`` image positions."""
    return tuple(image_vector_field(n) for n in range(count))


VECTOR_QUANTIZATIONS = ("none", "int7", "int4")  # what the HNSW graph searches: float32, or Lucene's scalar-quantized copies


def check_quantization(quantization: str) -> str:
    """``quantization`` when it is one of :data:`VECTOR_QUANTIZATIONS`, else a BadRequest naming them."""
    if quantization not in VECTOR_QUANTIZATIONS:
        raise BadRequest(f"vector quantization must be one of {', '.join(VECTOR_QUANTIZATIONS)}, got {quantization!r}")
    return quantization


MAX_VECTOR_DIMS = 1024  # Lucene 9.12's HNSW vectors format limit: the widest vector field, the widest PCA
# What SolrCloud routes a product by (``router.field``): its group, else its id, set inside Solr by
# the products configset's update chain, so a design's variants share a shard. The leading
# underscore keeps it out of every attribute list (query/schema.py skips such names).
ROUTE_FIELD = "_route_key"


def route_key(doc: dict[str, Any]) -> str:
    """A product's ``_route_key``: its group, else its id (the rule RouteKeyUpdateProcessorFactory
    applies inside Solr; a partial update, which Solr cannot route by itself, names it)."""
    group = doc.get("group")
    return str(group) if group not in (None, "") else str(doc["id"])
SUFFIXES = ("_ss", "_s", "_l", "_d", "_b")


def solr_field_for(name: str, value: Any) -> str | None:
    """The Solr field an attribute value is stored in, or None when the value has no field type."""
    if name in FIXED_FIELDS:
        return name
    if isinstance(value, bool):
        return f"{name}_b"
    if isinstance(value, int):
        return f"{name}_l"
    if isinstance(value, float):
        return f"{name}_d"
    if isinstance(value, str):
        return f"{name}_s"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f"{name}_ss"
    return None


def attribute_name(field: str) -> str:
    """``color_s`` -> ``color``; fixed fields are their own name."""
    for suffix in SUFFIXES:
        if field.endswith(suffix) and len(field) > len(suffix):
            return field[: -len(suffix)]
    return field

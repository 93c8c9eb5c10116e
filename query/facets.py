"""Facets: one terms facet per field, counted over the similar set or without a field's own filter.

Pure request building, as :mod:`query.build` (which asks for facets inside the main request
where it can): a facet on a field the shopper filters on is counted as if that filter were
off (``excludeTags``, or, for image searches, a follow-up request without it), so a shopper
who chose one value still sees how many the others have.
"""

from __future__ import annotations

import json
from typing import Any

from lookalike.solr_syntax import any_of, check_identifier, local_params
from query.models import BrowseRequest, SearchRequest
from query.schema import Schema

Params = dict[str, Any]


def filtered_fields(request: SearchRequest | BrowseRequest, schema: Schema) -> set[str]:
    """The Solr names of the fields the request filters on (a facet on one leaves its own filter out)."""
    names = {schema.filter_field(f.field).name for f in request.filters}
    if request.in_stock is not None:
        names.add(schema.filter_field("in_stock").name)
    return names


def facet_json(request: SearchRequest | BrowseRequest, schema: Schema, *, exclude: set[str] = frozenset()) -> str:
    """``json.facet``: one terms facet per field, refined so distributed counts are exact.

    A field in ``exclude`` (Solr names) is counted without its own filter (``excludeTags``
    ``f_<field>``, the tag :func:`query.filters.tagged` gives it): a shopper who chose one
    category still sees how many the others have, and can choose a second.
    """
    facets = {}
    for name in request.facets:
        info = schema.facet_field(name)
        facet: dict[str, Any] = {
            "type": "terms",
            "field": info.name,
            "limit": request.facet_limit,
            "mincount": 1,
            "refine": True,
            "sort": "count desc",
        }
        if info.name in exclude:
            facet["domain"] = {"excludeTags": f"f_{check_identifier(info.name)}"}
        facets[info.name] = facet
    return json.dumps(facets, sort_keys=True)


def own_filter_facets(request: SearchRequest, schema: Schema) -> list[tuple[str, SearchRequest]]:
    """For an image query: (Solr field, request) for each facet whose field is filtered.

    The request is the same search without that field's filter, counting only that facet;
    the client runs it, so the facet counts what choosing another value would add.
    """
    out = []
    for name in request.facets:
        field = schema.facet_field(name).name
        if field not in filtered_fields(request, schema):
            continue
        kept = tuple(f for f in request.filters if schema.filter_field(f.field).name != field)
        in_stock = None if field == "in_stock" else request.in_stock
        out.append((field, request.model_copy(update={
            "filters": kept, "in_stock": in_stock, "facets": (name,), "k": 1, "offset": 0,
            "sort": "relevance", "fields": ("id",),
        })))
    return out


def facet_params(request: SearchRequest, schema: Schema, ids: list[str]) -> Params:
    """Facets over exactly the similar set ``ids`` (the global top-N of the main request)."""
    params: Params = {"q": "*:*", "rows": 0, "json.facet": facet_json(request, schema)}
    params["fq"] = [local_params("lucene") + any_of("id", ids)] if ids else ["-*:*"]
    return params

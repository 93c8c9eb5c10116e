"""Structured filters for merchandising commands, built by the query layer's own rules.

The user's filters (the one grammar, :func:`query.filters.parse_filters`) are
:class:`query.models.Filter` objects and become ``fq``'s exactly as the storefront's do
(:func:`query.filters.filter_query`: checked against the collection's fields, every value
through :func:`lookalike.solr_syntax.quote`).
"""

from __future__ import annotations

from lookalike.connection import SolrClient
from query import filters as query_filters
from query.models import Filter
from query.schema import Schema


def load_schema(client: SolrClient, collection: str) -> Schema:
    """The collection's field allow-list, read the query layer's way (schema + each shard's fields)."""
    from query.client import SearchService

    return SearchService(client.settings, client, collection=collection).schema()


def parse_filters(texts: list[str] | None) -> list[Filter]:
    """``color:red`` (or ``color=red``), ``color:red|blue``, ``price:10..50``, as a list."""
    return list(query_filters.parse_filters(texts))


def filter_queries(client: SolrClient, collection: str, filters: list[Filter], schema: Schema | None = None) -> list[str]:
    if not filters:
        return []
    schema = schema or load_schema(client, collection)
    return [query_filters.filter_query(f, schema) for f in filters]

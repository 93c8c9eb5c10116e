"""Structured filters for merchandising commands, built by the query layer's own rules.

The user's ``field=value`` filters are :class:`query.models.Filter` objects and become
``fq``'s exactly as the storefront's do (checked against the collection's fields, every
value through :func:`query.escape.quote`).
"""

from __future__ import annotations

from lookalike.connection import SolrClient
from query.models import Filter
from query.schema import Schema


def load_schema(client: SolrClient, collection: str) -> Schema:
    """The collection's field allow-list, read the query layer's way (schema + each shard's fields)."""
    from query.client import SearchService

    return SearchService(client.settings, client, collection=collection).schema()


def parse_filters(texts: list[str] | None) -> list[Filter]:
    """The CLI form ``color=red``, ``color=red|blue``, ``price=10..50``."""
    return [Filter.parse(t) for t in texts or []]


def filter_queries(client: SolrClient, collection: str, filters: list[Filter], schema: Schema | None = None) -> list[str]:
    if not filters:
        return []
    from query.build import _filter_fq  # the query layer's one rule for a filter's fq

    schema = schema or load_schema(client, collection)
    return [_filter_fq(f, schema) for f in filters]

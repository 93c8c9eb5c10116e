"""Merchandising records in the metadata collection (``Settings.meta_collection``).

Every record is one document: ``id`` = ``<kind>:<key>``, ``kind_s``, a few small ``*_s``
fields to filter on, and the record itself as JSON in the stored-only ``payload`` field.

=========================  ====================================================================
``clusters:<collection>``  the last clustering of a physical collection (k, rule, medoids,
                           sizes, centroids, over-represented values, missing attributes)
``proposal:<id>``          a propagation proposal: attribute, value, examples, threshold, the
                           merchandiser's accept/reject decisions
``batch:<id>``             an applied write: who, when, attribute, value, source, model, PCA
                           version, state (applied / undone)
``change:<batch>:<pid>``   one product of a batch: score, reason, fields before and after
``map:<collection>``       the catalog map's layout (ids and 2-D positions) and the product
                           count it was made at (:mod:`merch.catalog_map`)
=========================  ====================================================================

Records are keyed by the **physical** collection behind an alias, because a reindex builds
a new collection whose products carry no cluster ids and no propagated values yet.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

from lookalike.connection import SolrClient
from lookalike.meta import PAYLOAD_FIELD as PAYLOAD
from lookalike.meta import MetadataStore
from lookalike.solr import cloud


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def physical_collection(client: SolrClient, name: str) -> str:
    """The collection an alias points at, or ``name`` itself when it is not an alias."""
    return cloud.alias_target(client, name) or name


class MerchStore(MetadataStore):
    """The metadata store with the one thing merch adds: every record of a kind, paged."""

    def iter_all(self, kind: str, **equals: str) -> Iterator[dict[str, Any]]:
        from merch.catalog import iter_docs

        fq = self.kind_filters(kind, **equals)
        for doc in iter_docs(self.client, self.collection, fl=f"id,{PAYLOAD}", fq=fq):
            yield json.loads(doc[PAYLOAD])


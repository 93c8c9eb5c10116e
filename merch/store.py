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
=========================  ====================================================================

Records are keyed by the **physical** collection behind an alias, because a reindex builds
a new collection whose products carry no cluster ids and no propagated values yet.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

from lookalike.connection import SolrClient
from lookalike.errors import SolrRequestError
from lookalike.settings import Settings
from lookalike.solr_syntax import quote

PAYLOAD = "payload"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def physical_collection(client: SolrClient, name: str) -> str:
    """The collection an alias points at, or ``name`` itself when it is not an alias."""
    from lookalike.solr import cloud

    return cloud.alias_target(client, name) or name


class MerchStore:
    def __init__(self, client: SolrClient, settings: Settings):
        self.client = client
        self.settings = settings
        self.collection = settings.meta_collection

    def ensure(self) -> None:
        """Create the metadata collection when it is missing (the indexer's own rule)."""
        from indexer.meta import MetadataStore

        MetadataStore(self.client, self.settings).ensure()

    def put(self, kind: str, key: str, record: dict[str, Any], *, commit: bool = True, **fields: str) -> None:
        self.put_many([(kind, key, record, fields)], commit=commit)

    def put_many(self, items: list[tuple[str, str, dict[str, Any], dict[str, str]]], *, commit: bool = True) -> None:
        docs = [
            {"id": f"{kind}:{key}", "kind_s": kind, "key_s": key, **fields,
             PAYLOAD: json.dumps(record, sort_keys=True)}
            for kind, key, record, fields in items
        ]
        for i in range(0, len(docs), 500):
            self.client.add(self.collection, docs[i : i + 500])
        if commit:
            self.client.commit(self.collection)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get(f"{self.collection}/get", {"id": f"{kind}:{key}"})
        except SolrRequestError as err:
            if err.solr_status == 404:
                return None
            raise
        doc = resp.get("doc")
        return json.loads(doc[PAYLOAD]) if doc else None

    def find(self, kind: str, *, sort: str = "created_s desc", rows: int = 100, **equals: str) -> list[dict[str, Any]]:
        """Records of one kind whose small fields equal the given values, newest first."""
        fq = [f"kind_s:{quote(kind)}"] + [f"{f}:{quote(v)}" for f, v in equals.items()]
        resp = self.client.select(self.collection, {"q": "*:*", "fq": fq, "rows": rows, "sort": sort,
                                                   "fl": PAYLOAD})
        return [json.loads(d[PAYLOAD]) for d in resp["response"]["docs"]]

    def iter_all(self, kind: str, **equals: str) -> Iterator[dict[str, Any]]:
        from merch.catalog import iter_docs

        fq = [f"kind_s:{quote(kind)}"] + [f"{f}:{quote(v)}" for f, v in equals.items()]
        for doc in iter_docs(self.client, self.collection, fl=f"id,{PAYLOAD}", fq=fq):
            yield json.loads(doc[PAYLOAD])


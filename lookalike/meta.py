"""The ``lookalike_meta`` collection: index metadata kept in Solr itself, so every query
process finds the exact same transform. This module is its one store.

The collection holds:

* ``pca:<version>``: a fitted :class:`indexer.pca.VectorReducer` (its ``to_bytes()``,
  base64) and its manifest; the store keeps the bytes, the indexer decodes them
  (:meth:`indexer.pca.VectorReducer.from_bytes`);
* ``index:<collection>``: what a physical product collection was built with (model, weights
  hash, PCA version, width, random weights or not, document count, creation time);
* the merchandising records (:mod:`merch.store`), through :meth:`MetadataStore.put_docs`,
  :meth:`MetadataStore.get_doc` and :meth:`MetadataStore.select`.

A query process reads the alias's target (:func:`live_record`), then its ``index:`` record,
then its ``pca:``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import IndexJobError, NotFound, SolrRequestError
from lookalike.settings import Settings
from lookalike.solr import cloud
from lookalike.solr_syntax import check_identifier, quote

log = logging.getLogger(__name__)

PAYLOAD_FIELD = "payload"


@dataclass(frozen=True)
class IndexRecord:
    collection: str
    alias: str
    model: str
    weights_sha256: str
    pca_version: str
    dims: int
    random_weights: bool
    count: int
    created: str
    catalog: str = ""
    catalog_sha256: str = ""
    recipe: dict = field(default_factory=dict)  # how the vectors were made (ReindexOptions.recipe); {} before

    def warning(self) -> str | None:
        if self.random_weights:
            return (
                f"collection {self.collection} was built with RANDOM model weights (a test index): "
                "its similarities mean nothing"
            )
        return None


class MetadataStore:
    def __init__(self, client: SolrClient, settings: Settings):
        self.client = client
        self.settings = settings
        self.replicas = settings.replicas
        self.collection = settings.meta_collection

    # -- setup ---------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the metadata collection on first use, one shard copied to every live node (up to
        three, at least ``settings.replicas``), and add copies when the cluster has grown: photo
        search and every index job need it, so it must survive the loss of a node."""
        want = cloud.meta_replicas(self.client, self.replicas)
        if self.collection in cloud.list_collections(self.client):
            cloud.ensure_replicas(self.client, self.collection, want)
            return
        cloud.create_meta_collection(self.client, self.collection, replicas=want)

    # -- PCA -----------------------------------------------------------------------
    def put_pca(self, reducer: Any) -> str:
        version = reducer.manifest_["version"]
        doc = {
            "id": f"pca:{version}",
            "kind_s": "pca",
            "created_s": reducer.manifest_.get("created", ""),
            "manifest_blob": json.dumps(reducer.manifest_, sort_keys=True),
            PAYLOAD_FIELD: base64.b64encode(reducer.to_bytes()).decode("ascii"),
        }
        self.client.add(self.collection, [doc], commit=True)
        return version

    def pca_payload(self, version: str) -> bytes:
        """The stored ``to_bytes()`` of PCA ``version`` (decoded by :func:`indexer.pca.load_reducer`)."""
        return base64.b64decode(self._pca_doc(version)[PAYLOAD_FIELD])

    def pca_manifest(self, version: str) -> dict[str, Any]:
        """The manifest of PCA ``version`` (what it was fitted on and how), without decoding it."""
        return json.loads(self._pca_doc(version)["manifest_blob"])

    def _pca_doc(self, version: str) -> dict[str, Any]:
        doc = self._get(f"pca:{version}")
        if doc is None:
            raise NotFound(f"PCA version {version} is not in the metadata collection {self.collection}")
        return doc

    # -- index records -------------------------------------------------------------
    def put_index_record(self, record: IndexRecord) -> None:
        doc = {"id": f"index:{record.collection}", "kind_s": "index", "alias_s": record.alias,
               "created_s": record.created, PAYLOAD_FIELD: json.dumps(asdict(record), sort_keys=True)}
        self.client.add(self.collection, [doc], commit=True)

    def index_record(self, collection: str) -> IndexRecord:
        doc = self._get(f"index:{collection}")
        if doc is None:
            raise NotFound(
                f"collection {collection} has no index record in {self.collection}: "
                "it was not built by `lookalike index`"
            )
        return IndexRecord(**json.loads(doc[PAYLOAD_FIELD]))

    def index_records(self, alias: str) -> list[IndexRecord]:
        """Every recorded collection built for ``alias``, newest first."""
        resp = self.client.select(
            self.collection,
            {"q": "*:*", "fq": ["kind_s:index", f"alias_s:{quote(alias)}"], "rows": 1000, "sort": "created_s desc"},
        )
        return [IndexRecord(**json.loads(d[PAYLOAD_FIELD])) for d in resp["response"]["docs"]]

    def delete_index_record(self, collection: str) -> None:
        self.client.post(f"{self.collection}/update", params={"commit": "true"},
                         json_body={"delete": {"id": f"index:{collection}"}})

    # -- JSON records of other kinds (merchandising) ------------------------------------
    def put(self, kind: str, key: str, record: dict[str, Any], *, commit: bool = True, **fields: str) -> None:
        """Store ``record`` as ``<kind>:<key>``; ``fields`` are small ``*_s`` fields to filter on."""
        self.put_many([(kind, key, record, fields)], commit=commit)

    def put_many(self, items: list[tuple[str, str, dict[str, Any], dict[str, str]]], *, commit: bool = True) -> None:
        docs = [
            {"id": f"{kind}:{key}", "kind_s": kind, "key_s": key, **fields,
             PAYLOAD_FIELD: json.dumps(record, sort_keys=True)}
            for kind, key, record, fields in items
        ]
        for i in range(0, len(docs), 500):
            self.client.add(self.collection, docs[i : i + 500])
        if commit:
            self.client.commit(self.collection)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        doc = self._get(f"{kind}:{key}")
        return json.loads(doc[PAYLOAD_FIELD]) if doc else None

    def find(self, kind: str, *, sort: str = "created_s desc", rows: int = 100, **equals: str) -> list[dict[str, Any]]:
        """Records of one kind whose small fields equal the given values, newest first."""
        resp = self.client.select(self.collection, {"q": "*:*", "fq": self.kind_filters(kind, **equals), "rows": rows,
                                                   "sort": sort, "fl": PAYLOAD_FIELD})
        return [json.loads(d[PAYLOAD_FIELD]) for d in resp["response"]["docs"]]

    @staticmethod
    def kind_filters(kind: str, **equals: str) -> list[str]:
        """The ``fq``'s of the records of ``kind`` whose small fields equal ``equals``."""
        return [f"kind_s:{quote(kind)}"] + [f"{check_identifier(f)}:{quote(v)}" for f, v in equals.items()]

    def _get(self, doc_id: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get(f"{self.collection}/get", {"id": doc_id})
        except SolrRequestError as err:
            if err.solr_status == 404:
                return None
            raise
        return resp.get("doc")


def live_record(settings: Settings, client: SolrClient, alias: str) -> IndexRecord:
    """The index record of the collection ``alias`` serves now."""
    collection = cloud.alias_target(client, alias)
    if collection is None:
        raise IndexJobError(f"alias {alias} does not exist: run `lookalike index CATALOG` first")
    return MetadataStore(client, settings).index_record(collection)

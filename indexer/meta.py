"""Index metadata kept in Solr itself, so every query process finds the exact same transform.

The small ``lookalike_meta`` collection holds two kinds of documents:

* ``pca:<version>``: a fitted :class:`indexer.pca.VectorReducer` (its ``to_bytes()``,
  base64) and its manifest;
* ``index:<collection>``: what a physical product collection was built with (model, weights
  hash, PCA version, width, random weights or not, document count, creation time).

A query process reads the alias's target, then its ``index:`` record, then its ``pca:``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import NotFound, SolrRequestError
from lookalike.settings import Settings
from lookalike.solr_syntax import quote

log = logging.getLogger(__name__)

PAYLOAD_FIELD = "payload"
META_CONFIGSET = "lookalike_meta"


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
        self.collection = settings.meta_collection
        self.replicas = settings.replicas

    # -- setup ---------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the metadata collection on first use, one shard copied to every live node (up to
        three, at least ``settings.replicas``), and add copies when the cluster has grown: photo
        search and every index job need it, so it must survive the loss of a node."""
        from lookalike.solr import cloud

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

    def get_pca(self, version: str) -> Any:
        from indexer.pca import VectorReducer

        doc = self._get(f"pca:{version}")
        if doc is None:
            raise NotFound(f"PCA version {version} is not in the metadata collection {self.collection}")
        return VectorReducer.from_bytes(base64.b64decode(doc[PAYLOAD_FIELD]))

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

    def _get(self, doc_id: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get(f"{self.collection}/get", {"id": doc_id})
        except SolrRequestError as err:
            if err.solr_status == 404:
                return None
            raise
        return resp.get("doc")

"""What the storefront's alias points at right now, and the model that reads photos for it.

:class:`LiveIndex` answers "which collection does the alias serve, and how was it built"
(the index record the reindex job stored in the metadata collection), cached for a few
seconds so serving an image grid does not ask Solr the same question per picture.

:class:`ImageEmbedder` turns an uploaded photo into a query vector in the index's own space:
the same model, weights and embedding options (framing, pooling, flip), then the same PCA, all
read from what the index recorded. The
model is loaded lazily on the first upload and kept for the life of the process; after an
alias swap to an index built differently, the next upload loads the new pair.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import IndexJobError, ManifestMismatch, NotFound, SolrRequestError, SolrUnavailable
from lookalike.settings import Settings

log = logging.getLogger(__name__)

RECORD_TTL_S = 5.0
VECTOR_CACHE_SIZE = 64


class LiveIndex:
    """The alias's current collection and its index record, cached ``ttl_s`` seconds."""

    def __init__(self, settings: Settings, client: SolrClient, *, ttl_s: float = RECORD_TTL_S):
        self.settings = settings
        self.client = client
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, Any] | None = None

    def record(self) -> Any:
        """The live :class:`indexer.meta.IndexRecord`; :class:`NotFound` when there is no index."""
        from indexer.incremental import live_record

        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl_s:
                return self._cached[1]
        try:
            record = live_record(self.settings, self.client, self.settings.alias)
        except IndexJobError as err:  # the alias does not exist
            raise NotFound(f"there is no index behind alias {self.settings.alias}: run `lookalike index CATALOG`") from err
        except (SolrUnavailable, SolrRequestError) as err:
            # the metadata collection or ZooKeeper is briefly out of reach: keep serving the record
            # read last (it only changes with a reindex) rather than failing every photo search
            with self._lock:
                if self._cached is None:
                    raise
                log.warning("index record of %s not refreshed (%s); serving the last one", self.settings.alias, err)
                self._cached = (time.monotonic(), self._cached[1])
                return self._cached[1]
        with self._lock:
            self._cached = (time.monotonic(), record)
        return record

    def catalog_dir(self) -> Path:
        """The folder of the catalog the live index was built from (image paths are relative to it)."""
        record = self.record()
        if not record.catalog:
            raise NotFound(f"the index {record.collection} does not record its catalog; set an images root")
        return Path(record.catalog).expanduser().resolve().parent


@dataclass(frozen=True)
class _Loaded:
    collection: str
    model: Any
    reducer: Any


class ImageEmbedder:
    """Photo bytes -> the reduced, index-compatible query vector."""

    def __init__(self, settings: Settings, client: SolrClient, live: LiveIndex):
        self.settings = settings
        self.client = client
        self.live = live
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def _load(self) -> _Loaded:
        from indexer.meta import MetadataStore
        from indexer.models import load_model
        from indexer.models.options import EmbeddingOptions

        record = self.live.record()
        with self._lock:
            current = self._loaded
            if current is not None and current.collection == record.collection:
                return current
            log.info("loading %s and PCA %s for %s", record.model, record.pca_version, record.collection)
            model = load_model(record.model, self.settings, allow_random=record.random_weights,
                               options=EmbeddingOptions.from_record(record.recipe))
            if model.weights_sha256 != record.weights_sha256:
                raise ManifestMismatch(
                    f"the index {record.collection} was built with {record.model} weights "
                    f"{record.weights_sha256[:12]}, but the weights found here are {model.weights_sha256[:12]}"
                )
            reducer = MetadataStore(self.client, self.settings).get_pca(record.pca_version)
            reducer.check_compatible(model.identity, model.weights_sha256, model.output_dim)
            self._loaded = _Loaded(record.collection, model, reducer)
            self._vectors.clear()
            return self._loaded

    def manifest(self) -> dict[str, Any] | None:
        """The loaded model's and PCA's manifests, or None before the first upload."""
        loaded = self._loaded
        if loaded is None:
            return None
        return {"model": loaded.model.describe(), "pca": dict(loaded.reducer.manifest_)}

    def embed_query_image(self, data: bytes) -> np.ndarray:
        """Decode (with the byte and pixel limits), embed and reduce one photo (the
        :class:`query.embedder.ImageEmbedder` protocol)."""
        from indexer.images import decode_image

        image = decode_image(data, self.settings)  # limits and format first: cheap, and no model needed
        loaded = self._load()
        key = (loaded.collection, hashlib.sha256(data).hexdigest())
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        embedding = loaded.model.embed_images([image])
        reduced = loaded.reducer.transform(np.asarray(embedding, dtype=np.float32))
        vec = np.asarray(reduced, dtype=np.float32)[0]
        vec.setflags(write=False)
        with self._lock:
            self._vectors[key] = vec
            while len(self._vectors) > VECTOR_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vec

"""Search by photo: photo bytes -> a query vector in the live index's own space.

The same model and weights, then the same PCA, both as the index recorded them
(:func:`indexer.index_model.open_index_model`). The model is loaded on the first photo and
kept for the life of the process; after an alias swap to an index built differently, the
next photo loads the new pair. This is the indexer's implementation of
:class:`query.embedder.ImageEmbedder`; the entry points (:mod:`app.web`, the CLI) build it
and hand it to the query layer, which depends only on the protocol.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lookalike.connection import SolrClient
from lookalike.errors import Busy
from lookalike.meta import IndexRecord, live_record
from lookalike.settings import Settings

from indexer.cache import image_key
from indexer.images import decode_image
from indexer.index_model import open_index_model

log = logging.getLogger(__name__)

VECTOR_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Loaded:
    collection: str
    model: Any
    reducer: Any


class PhotoEmbedder:
    """Photo bytes -> the reduced, index-compatible query vector.

    ``record`` says which index is live now (called per photo; the storefront passes its
    cached :meth:`query.live_index.LiveIndex.record`).
    """

    def __init__(self, settings: Settings, client: SolrClient, record: Callable[[], IndexRecord]):
        self.settings = settings
        self.client = client
        self.record = record
        self._lock = threading.Lock()
        # Decoding is where a photo costs memory (up to one full-size buffer of a large PNG):
        # at most this many at once; the next one is told to come back (503, Retry-After).
        self._decodes = threading.BoundedSemaphore(settings.max_concurrent_decodes)
        self._loaded: _Loaded | None = None
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def _load(self) -> _Loaded:
        record = self.record()
        with self._lock:
            current = self._loaded
            if current is not None and current.collection == record.collection:
                return current
            log.info("loading %s and PCA %s for %s", record.model, record.pca_version, record.collection)
            model, reducer = open_index_model(self.settings, self.client, record, lazy=False)
            self._loaded = _Loaded(record.collection, model, reducer)
            self._vectors.clear()
            return self._loaded

    def manifest(self) -> dict[str, Any] | None:
        """The loaded model's and PCA's manifests, or None before the first photo."""
        loaded = self._loaded
        if loaded is None:
            return None
        return {"model": loaded.model.describe(), "pca": dict(loaded.reducer.manifest_)}

    def decode(self, data: bytes) -> Image.Image:
        """Decode with the byte and pixel limits, at most ``max_concurrent_decodes`` at once."""
        if not self._decodes.acquire(blocking=False):
            raise Busy(
                f"{self.settings.max_concurrent_decodes} photo(s) are being decoded already; retry in a second",
                retry_after_s=1,
            )
        try:
            return decode_image(data, self.settings)
        finally:
            self._decodes.release()

    def embed_pictures(self, pictures: list[Image.Image]) -> np.ndarray:
        """Decoded pictures through the live index's model (one batch) and PCA, unit rows."""
        loaded = self._load()
        reduced = loaded.reducer.transform(np.asarray(loaded.model.embed_images(list(pictures)), dtype=np.float32))
        return np.asarray(reduced, dtype=np.float32)

    def embed_query_image(self, data: bytes) -> np.ndarray:
        """Decode (with the byte and pixel limits), embed and reduce one photo."""
        image = self.decode(data)  # limits and format first: cheap, and no model needed
        loaded = self._load()
        key = (loaded.collection, image_key(data))
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


def open_photo_embedder(settings: Settings, client: SolrClient) -> PhotoEmbedder:
    """The photo embedder of the index behind ``settings.alias`` (the CLI's; the app caches the record)."""
    return PhotoEmbedder(settings, client, lambda: live_record(settings, client, settings.alias))

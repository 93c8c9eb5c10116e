"""The one thing the query layer needs from the indexer to search by photo.

An :class:`ImageEmbedder` turns an uploaded image's bytes into a query vector in the index's
space: the index's model, then its PCA (both named by the index's metadata), L2-normalised.
The indexer provides the implementation; the query layer only depends on this protocol.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np



@runtime_checkable
class ImageEmbedder(Protocol):
    def embed_query_image(self, data: bytes) -> np.ndarray:
        """A 1-D float vector as wide as the index's ``vector`` field.

        Raises :class:`lookalike.errors.ImageError` for bytes that are not a readable image and
        :class:`lookalike.errors.PayloadTooLarge` over the byte or pixel limit.
        """
        ...


def load_embedder(settings: Any, client: Any) -> ImageEmbedder:
    """The embedder of the index behind ``settings.alias``: its model and PCA, from its metadata.

    One place the CLI and the HTTP API get it from; the implementation (model weights, PCA
    from ``lookalike_meta``) is :class:`query.live_index.ImageEmbedder`, built on the indexer.
    """
    from query.live_index import ImageEmbedder as IndexEmbedder
    from query.live_index import LiveIndex

    return IndexEmbedder(settings, client, LiveIndex(settings, client))

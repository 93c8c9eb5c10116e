"""The one thing the query layer needs from the indexer to search by photo.

An :class:`ImageEmbedder` turns an uploaded image's bytes into a query vector in the index's
space: the index's model, then its PCA (both named by the index's metadata), L2-normalised.
The indexer provides the implementation (:class:`indexer.photo_vectors.PhotoEmbedder`) and
the entry points hand it in; the query layer only depends on this protocol.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class ImageEmbedder(Protocol):
    def embed_query_image(self, data: bytes) -> np.ndarray:
        """A 1-D float vector as wide as the index's ``vector`` field.

        Raises :class:`lookalike.errors.ImageError` for bytes that are not a readable image and
        :class:`lookalike.errors.PayloadTooLarge` over the byte or pixel limit.
        """
        ...

    def decode(self, data: bytes) -> Image.Image:
        """The image's RGB picture, with the same limits as a photo (the explanation's input)."""
        ...

    def embed_pictures(self, pictures: list[Image.Image]) -> np.ndarray:
        """``float32[len(pictures), dims]``: each picture through the index's model (in one batch)
        and PCA, rows of unit length. What occlusion heat-maps re-embed (query/explain.py)."""
        ...

    def manifest(self) -> dict[str, Any] | None:
        """The loaded model's and PCA's manifests (``{"model": ..., "pca": ...}``), or None
        before the first photo."""
        ...

"""The one interface every embedding model implements, and what all models share.

A model turns PIL images into float32 vectors: ``preprocess`` (resize, scale) then
``embed`` (the network). ``embed_images`` does both; ``embed_stream`` overlaps the two,
decoding and preprocessing the next batch in a thread while the network runs on this one
(TensorFlow and Pillow both release the GIL, so two cores are busy at once).

The concrete models live in their own modules and :mod:`indexer.models.registry` maps
their names to factories; this module knows none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from indexer.prefetch import chunks
from indexer.prefetch import prefetch as ahead_of

from .options import EmbeddingOptions

K = TypeVar("K")


def letterbox(image: Image.Image, size: int, fill: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Fit the whole image into ``size`` x ``size`` (aspect kept, padded with ``fill``).

    Product photos put the product in the middle of a plain background; a centre crop
    would cut the top and bottom off a dress, so the whole image is kept instead.
    """
    image = image.convert("RGB")
    w, h = image.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = image.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(resized, ((size - nw) // 2, (size - nh) // 2))
    return np.asarray(canvas, dtype=np.float32)


class EmbeddingModel(ABC):
    """An image embedding network: PIL images in, ``float32[n, output_dim]`` out."""

    name: str
    input_size: int
    output_dim: int
    weights_sha256: str
    random_weights: bool
    options: EmbeddingOptions = EmbeddingOptions()

    @property
    def identity(self) -> str:
        """The name plus the options that change the vector (``efficientnet_lite0+trim``): the cache key's model."""
        return self.options.identity(self.name)

    def frame(self, image: Image.Image) -> Image.Image:
        """The framing option: the image cropped to the product when ``options.trim``."""
        if not self.options.trim:
            return image
        from indexer.framing import trim_borders

        return trim_borders(image)

    @abstractmethod
    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        """Images -> ``float32[n, input_size, input_size, 3]`` as the network expects it."""

    @abstractmethod
    def embed(self, batch: np.ndarray) -> np.ndarray:
        """A preprocessed batch -> ``float32[n, output_dim]``. Safe to call from any thread."""

    def checked_batch(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` as float32 ``(n, input_size, input_size, 3)``; :class:`ModelError` otherwise."""
        batch = np.asarray(batch, dtype=np.float32)
        size = self.input_size
        if batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ModelError(f"expected a batch of shape (n, {size}, {size}, 3), got {batch.shape}")
        return batch

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        return self.embed(self.preprocess(images))

    def embed_stream(
        self, items: Iterable[tuple[K, Image.Image]], batch_size: int, prefetch: int = 2
    ) -> Iterator[tuple[list[K], np.ndarray]]:
        """Embed ``(key, image)`` pairs in batches, yielding ``(keys, vectors)``.

        A worker thread pulls from ``items`` (so lazy image decoding happens there) and
        preprocesses up to ``prefetch`` batches ahead while this thread runs the network
        (:func:`indexer.prefetch.prefetch`). An exception raised by ``items`` is re-raised
        here, after the batches before it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")

        def batches() -> Iterator[tuple[list[K], np.ndarray]]:
            for chunk in chunks(items, batch_size):
                yield [key for key, _ in chunk], self.preprocess([image for _, image in chunk])

        ahead = ahead_of(batches(), max(1, prefetch), name=f"{self.name}-prefetch")
        try:
            for keys, batch in ahead:
                yield keys, self.embed(batch)
        finally:
            ahead.close()

    def describe(self) -> dict[str, Any]:
        """What an index manifest records about the model."""
        return {
            "model": self.name,
            "identity": self.identity,
            "options": self.options.as_dict(),
            "weights_sha256": self.weights_sha256,
            "random_weights": self.random_weights,
            "input_size": self.input_size,
            "output_dim": self.output_dim,
        }



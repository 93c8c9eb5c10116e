"""A model whose identity (name, weights hash) is known before its network is built."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from .base import EmbeddingModel
from .options import EmbeddingOptions


class LazyModel:
    """A model whose identity (name, weights hash) is known before its network is built.

    The reindex job needs the weights hash to look embeddings up in the cache; building the
    network (tens of seconds) is only worth it when some image is not cached. The first call
    to :meth:`preprocess` or :meth:`embed` calls ``build``, once, under a lock, and checks
    that the network it gets has the weights announced.
    """

    def __init__(self, name: str, build: Callable[[], EmbeddingModel], *, weights_sha256: str,
                 options: EmbeddingOptions | None = None):
        self.name = name
        self.weights_sha256 = weights_sha256
        self.random_weights = False
        self.options = options or EmbeddingOptions()
        self._build = build
        self._model: EmbeddingModel | None = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.options.identity(self.name)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _get(self) -> EmbeddingModel:
        with self._lock:
            if self._model is None:
                model = self._build()
                if model.weights_sha256 != self.weights_sha256:
                    raise ModelError(
                        f"{self.name} weights changed while loading: expected {self.weights_sha256}, "
                        f"got {model.weights_sha256}"
                    )
                self._model = model
            return self._model

    @property
    def output_dim(self) -> int:
        return self._get().output_dim

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        return self._get().preprocess(images)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        return self._get().embed(batch)

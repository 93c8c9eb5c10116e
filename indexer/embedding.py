"""The load and embed stages: image bytes -> content hash -> cached or fresh embedding.

Loading (fetch, hash, decode, resize) runs in a small thread pool one chunk ahead of
inference (:func:`indexer.prefetch.prefetch`), so decoding overlaps the CNN. Every image is embedded at most
once per (model and its options, weights): the cache is consulted by content hash before decoding.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from lookalike.errors import ImageError
from lookalike.settings import Settings

from indexer import images
from indexer.cache import image_key
from indexer.prefetch import chunks, prefetch
from indexer.timing import StageTimer

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """One product after the load stage: a cached vector, or pixels ready for the model."""

    product: object
    content_sha256: str
    vector: np.ndarray | None = None
    pixels: np.ndarray | None = None


@dataclass
class Failed:
    product: object
    reason: str
    message: str


def load_one(ref: str, base_dir: Path, settings: Settings, model, cache) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """The load stage of one image: ``(content key, cached vector, None)`` when the cache has it,
    else ``(content key, None, preprocessed pixels)``; :class:`ImageError` when it cannot be read."""
    data = images.fetch_bytes(ref, base_dir, settings)
    sha = image_key(data)
    cached = cache.get(model.identity, model.weights_sha256, sha)
    if cached is not None:
        return sha, cached, None
    return sha, None, model.preprocess([images.decode_image(data, settings)])[0]


class Embedder:
    """Turns products into embeddings, reporting per-item failures through ``on_error``."""

    def __init__(self, model, cache, settings: Settings, timer: StageTimer, *, workers: int = 2):
        self.model = model
        self.cache = cache
        self.settings = settings
        self.timer = timer
        self.workers = workers
        self.embedded = 0
        self.cache_hits = 0

    def _load(self, product, base_dir: Path) -> Loaded | Failed:
        try:
            sha, cached, pixels = load_one(product.image, base_dir, self.settings, self.model, self.cache)
        except ImageError as err:
            return Failed(product, getattr(err, "reason", "image_error"), str(err))
        return Loaded(product, sha, vector=cached, pixels=pixels)

    def run(
        self,
        products: Iterable,
        base_dir: Path,
        on_error: Callable[[Failed], None],
    ) -> Iterator[tuple[object, np.ndarray]]:
        """Yield ``(product, embedding)`` in input order; failures go to ``on_error``.

        The next chunk is loaded (by ``workers`` threads) while this one is embedded."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="load") as pool:
            loaded = (list(pool.map(lambda p: self._load(p, base_dir), chunk))
                      for chunk in chunks(products, self.settings.batch_size))
            ahead = prefetch(loaded, 1, name="load-ahead")
            try:
                while True:
                    with self.timer.stage("load"):
                        results = next(ahead, None)
                    if results is None:
                        return
                    yield from self._finish(results, on_error)
            finally:
                ahead.close()

    def _finish(self, results: list[Loaded | Failed], on_error) -> Iterator[tuple[object, np.ndarray]]:
        fresh = [r for r in results if isinstance(r, Loaded) and r.vector is None]
        if fresh:
            with self.timer.stage("embed"):
                vectors = self.model.embed(np.stack([r.pixels for r in fresh]))
            for r, v in zip(fresh, vectors):
                r.vector = np.asarray(v, dtype=np.float32)
                r.pixels = None
            self.cache.put_many(self.model.identity, self.model.weights_sha256,
                                {r.content_sha256: r.vector for r in fresh})
            self.embedded += len(fresh)
        for r in results:
            if isinstance(r, Failed):
                on_error(r)
            else:
                if r not in fresh:
                    self.cache_hits += 1
                yield r.product, r.vector


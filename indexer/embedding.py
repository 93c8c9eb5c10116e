"""The load and embed stages: image bytes -> content hash -> cached or fresh embedding.

Loading (fetch, hash, cache lookup, decode, resize) runs one chunk ahead of inference
(:func:`indexer.prefetch.prefetch`), so decoding overlaps the CNN: local files are read and
hashed in the load-ahead thread, downloads and decoding on a small thread pool
(:func:`load_many`). Every image is embedded at most once per (model and its options, weights):
the cache is consulted by content hash, once per chunk, before decoding.
"""

from __future__ import annotations

import functools
import logging
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from lookalike.errors import ImageError
from lookalike.settings import Settings

from indexer import images
from indexer.cache import image_key
from indexer.content_keys import ContentKeys
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
    result = load_many([ref], base_dir, settings, model, cache)[0]
    if isinstance(result, ImageError):
        raise result
    return result


def load_many(refs: list[str], base_dir: Path, settings: Settings, model, cache, *,
              pool: Executor | None = None,
              keys: ContentKeys | None = None) -> list[tuple[str, np.ndarray | None, np.ndarray | None] | ImageError]:
    """The load stage of several images, in order: each one's result as :func:`load_one` gives
    it, or the :class:`ImageError` it raised.

    Every image is fetched and hashed, the cache is asked once for all their keys
    (:meth:`~indexer.cache.EmbeddingCache.get_many`), and only the images it lacks are decoded.
    With ``keys`` (:class:`~indexer.content_keys.ContentKeys`), a local file whose identity is
    the one it had when it was last hashed is not read at all unless the cache lacks its vector;
    the files read are remembered there. With a ``pool``, downloads and decoding run on its
    threads (they wait on the network or decode in C without the GIL); local files are read here,
    one after the other: a page-cached small file is read and hashed in ~35 us of CPU, less than
    it costs to hand it to a thread (with 8 threads, one task per image, each took 170-400 us of
    CPU contending for the GIL).
    """
    downloads = {i: pool.submit(_fetch, ref, base_dir, settings)
                 for i, ref in enumerate(refs) if images.is_download(ref)} if pool is not None else {}
    paths = _local_paths(refs, base_dir) if keys is not None else {}
    known = keys.known(list(paths.values())) if paths else {}
    fetched: list = []
    for i, ref in enumerate(refs):
        if i in downloads:
            fetched.append(None)
        elif paths.get(i) in known:
            fetched.append((None, known[paths[i]], None))  # read only if the cache lacks its vector
        else:
            fetched.append(_fetch(ref, base_dir, settings))
    for i, future in downloads.items():
        fetched[i] = future.result()
    keys_asked = [f[1] for f in fetched if not isinstance(f, ImageError)]
    found = cache.get_many(model.identity, model.weights_sha256, keys_asked) if keys_asked else {}
    for i, f in enumerate(fetched):  # remembered, not cached: read after all (the key may change)
        if not isinstance(f, ImageError) and f[0] is None and f[1] not in found:
            fetched[i] = _fetch(refs[i], base_dir, settings)
    if keys is not None:
        keys.remember((paths[i], f[2], f[1]) for i, f in enumerate(fetched)
                      if i in paths and not isinstance(f, ImageError) and f[2] is not None)
    results: list = []
    misses: list[int] = []
    for i, f in enumerate(fetched):
        if isinstance(f, ImageError):
            results.append(f)
        elif (cached := found.get(f[1])) is not None:
            results.append((f[1], cached, None))
        else:
            results.append(None)
            misses.append(i)
    decode = functools.partial(_pixels, model=model, settings=settings)
    for i, pixels in zip(misses, (pool.map if pool is not None else map)(decode, [fetched[i][0] for i in misses])):
        results[i] = pixels if isinstance(pixels, ImageError) else (fetched[i][1], None, pixels)
    return results


def _local_paths(refs: list[str], base_dir: Path) -> dict[int, str]:
    """Position -> file of each reference to a local file (not downloads, not unusable URLs)."""
    out = {}
    for i, ref in enumerate(refs):
        if images.is_local(ref):
            try:
                out[i] = os.fspath(images.local_path(ref, base_dir))
            except ImageError:
                pass  # reading it says why
    return out


def _fetch(ref: str, base_dir: Path, settings: Settings) -> tuple[bytes, str, os.stat_result | None] | ImageError:
    """The bytes of ``ref``, their content key and, for a local file, the ``fstat`` it was read with."""
    try:
        if images.is_local(ref):
            data, st = images.read_local(images.local_path(ref, base_dir), settings)
        else:
            data, st = images.fetch_bytes(ref, base_dir, settings), None
    except ImageError as err:
        return err
    return data, image_key(data), st


def _pixels(data: bytes, *, model, settings: Settings) -> np.ndarray | ImageError:
    try:
        return model.preprocess([images.decode_image(data, settings)])[0]
    except ImageError as err:
        return err


class Embedder:
    """Turns products into embeddings, reporting per-item failures through ``on_error``."""

    def __init__(self, model, cache, settings: Settings, timer: StageTimer, *, workers: int = 2,
                 keys: ContentKeys | None = None):
        self.model = model
        self.cache = cache
        self.keys = keys
        self.settings = settings
        self.timer = timer
        self.workers = workers
        self.embedded = 0
        self.cache_hits = 0

    def _load(self, products: list, base_dir: Path, pool: Executor) -> list[Loaded | Failed]:
        results = load_many([p.image for p in products], base_dir, self.settings, self.model, self.cache, pool=pool,
                            keys=self.keys)
        return [Failed(p, getattr(r, "reason", "image_error"), str(r)) if isinstance(r, ImageError)
                else Loaded(p, r[0], vector=r[1], pixels=r[2]) for p, r in zip(products, results)]

    def run(
        self,
        products: Iterable,
        base_dir: Path,
        on_error: Callable[[Failed], None],
    ) -> Iterator[tuple[object, np.ndarray]]:
        """Yield ``(product, embedding)`` in input order; failures go to ``on_error``.

        The next chunk is loaded while this one is embedded (:func:`load_many`: its downloads
        and decoding on ``workers`` threads)."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="load") as pool:
            loaded = (self._load(chunk, base_dir, pool) for chunk in chunks(products, self.settings.batch_size))
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

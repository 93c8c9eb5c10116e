"""The adaptation stage of the reindex job: augmented views of a sample of the catalog, embedded.

A seeded sample of at most ``sample`` products is loaded again, each image turned into one
augmented view (:func:`indexer.augment.augmented_view`, seeded by the image's content hash so
a re-run makes the same view) and embedded with the index's model. The view's vector is
cached like any embedding, under a key derived from the image's hash, so re-running the job
embeds no view twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from lookalike.errors import ImageError
from lookalike.settings import Settings

from indexer import images
from indexer.augment import augmented_view
from indexer.cache import image_key

VIEW = "view1"


def view_key(image_sha256: str) -> str:
    return hashlib.sha256(f"{image_sha256}:{VIEW}".encode()).hexdigest()


def embed_views(model, cache, products: list, base_dir: Path, settings: Settings, *, sample: int,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """``(rows, vectors, embedded)``: for the sampled ``products[rows]``, their views' vectors,
    and how many views had to be embedded (the others came from the cache)."""
    n = len(products)
    rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    keys, todo, found = [], [], {}
    for i in rows:
        try:
            data = images.fetch_bytes(products[i].image, base_dir, settings)
        except ImageError:
            keys.append(None)
            continue
        sha = image_key(data)
        key = view_key(sha)
        keys.append(key)
        cached = cache.get(model.identity, model.weights_sha256, key)
        if cached is not None:
            found[key] = cached
        else:
            todo.append((key, sha, data))
    for start in range(0, len(todo), settings.batch_size):
        chunk = todo[start:start + settings.batch_size]
        views = [augmented_view(images.decode_image(data, settings), np.random.default_rng(int(sha[:16], 16)))
                 for _, sha, data in chunk]
        vectors = model.embed(model.preprocess(views))
        fresh = {key: np.asarray(v, dtype=np.float32) for (key, _, _), v in zip(chunk, vectors)}
        cache.put_many(model.identity, model.weights_sha256, fresh)
        found.update(fresh)
    kept = [(i, found[k]) for i, k in zip(rows, keys) if k is not None]
    return np.array([i for i, _ in kept]), np.stack([v for _, v in kept]), len(todo)

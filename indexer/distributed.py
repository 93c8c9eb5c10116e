"""The load and embed stages on Ray, for a catalog that outgrows one machine.

Why Ray rather than PySpark: the work is Python from end to end (image decoding, a TensorFlow
network, numpy), and Ray Data runs it in a pool of long-lived Python actors, each of which loads
the model once and embeds batch after batch, on CPUs or GPUs, with no JVM in between; the same
code runs in local mode on this machine (``ray.init`` with the machine's cores) and on a cluster
by address (``LOOKALIKE_RAY_ADDRESS=ray://head:10001``).

:class:`RayEmbedder` has the :class:`indexer.embedding.Embedder` interface (``run`` yields
``(product, vector)`` in input order and reports failures; ``embedded`` and ``cache_hits``
count), so the pipeline (:mod:`indexer.pipeline`) picks one by ``LOOKALIKE_EMBED_BACKEND``. Each
worker reads the image itself (a path the workers can see, or a URL), looks it up in the
embedding cache first (``LOOKALIKE_DATA_DIR``'s cache: put it on shared storage for a cluster,
or the workers embed again), embeds what is new and writes it to the cache; only the vectors
travel back. The PCA is fitted on the driver on a sample, as without Ray.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from lookalike.errors import ConfigError, ImageError, ManifestMismatch
from lookalike.machine import available_cpus
from lookalike.settings import Settings

from indexer.embedding import Failed

log = logging.getLogger(__name__)

OBJECT_STORE_BYTES = 512 * 1024 * 1024  # local mode: vectors and image references only


class EmbedWorker:
    """One Ray actor: the model loaded once, then batches of image references -> vectors."""

    def __init__(self, settings: dict[str, Any], model: str, options: dict[str, Any], allow_random: bool,
                 weights_sha256: str, base_dir: str):
        from indexer.cache import EmbeddingCache
        from indexer.models import load_model
        from indexer.models.options import EmbeddingOptions

        self.settings = Settings(**settings)
        self.model = load_model(model, self.settings, allow_random=allow_random, options=EmbeddingOptions(**options))
        if self.model.weights_sha256 != weights_sha256:
            raise ManifestMismatch(f"a worker loaded {model} weights {self.model.weights_sha256[:12]}, "
                                   f"the driver has {weights_sha256[:12]}: give every worker the same weights")
        self.cache = EmbeddingCache(self.settings.cache_dir)
        self.base_dir = Path(base_dir)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from indexer.embedding import load_one

        n = len(batch["index"])
        vectors: list[np.ndarray | None] = [None] * n
        reasons, messages, hits = [""] * n, [""] * n, [False] * n
        fresh: list[tuple[int, str, np.ndarray]] = []
        for i, ref in enumerate(batch["image"]):
            try:
                sha, cached, pixels = load_one(str(ref), self.base_dir, self.settings, self.model, self.cache)
                if cached is not None:
                    vectors[i], hits[i] = cached, True
                else:
                    fresh.append((i, sha, pixels))
            except ImageError as err:
                reasons[i], messages[i] = getattr(err, "reason", "image_error"), str(err)
        if fresh:
            out = self.model.embed(np.stack([pixels for _, _, pixels in fresh]))
            for (i, _, _), v in zip(fresh, out):
                vectors[i] = np.asarray(v, dtype=np.float32)
            self.cache.put_many(self.model.identity, self.model.weights_sha256,
                                {sha: vectors[i] for i, sha, _ in fresh})
        width = next((v.shape[0] for v in vectors if v is not None), 0)
        return {
            "index": np.asarray(batch["index"]),
            "vector": np.stack([v if v is not None else np.zeros(width, np.float32) for v in vectors]),
            "ok": np.asarray([v is not None for v in vectors]),
            "hit": np.asarray(hits),
            "reason": np.asarray(reasons, dtype=object),
            "message": np.asarray(messages, dtype=object),
        }


class RayEmbedder:
    """The load and embed stages on a Ray cluster (local mode unless ``settings.ray_address``)."""

    def __init__(self, model, settings: Settings, *, workers: int | None = None):
        self.model = model
        self.settings = settings
        self.workers = workers or settings.ray_workers or (available_cpus() if not settings.ray_address else 2)
        self.embedded = 0
        self.cache_hits = 0

    def _init(self):
        try:
            import ray
        except ImportError as err:
            raise ConfigError("LOOKALIKE_EMBED_BACKEND=ray needs Ray: pip install 'lookalike[distributed]'") from err
        if not ray.is_initialized():
            if self.settings.ray_address:
                ray.init(address=self.settings.ray_address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         object_store_memory=OBJECT_STORE_BYTES)
        return ray

    def run(self, products: Iterable, base_dir: Path, on_error: Callable[[Failed], None]) -> Iterator[tuple[object, np.ndarray]]:
        products = list(products)
        if not products:
            return
        ray = self._init()
        import ray.data

        worker_args = {
            "settings": self.settings.model_dump(mode="json"), "model": self.model.name,
            "options": dataclasses.asdict(self.model.options), "allow_random": bool(getattr(self.model, "random_weights", False)),
            "weights_sha256": self.model.weights_sha256, "base_dir": str(Path(base_dir).resolve()),
        }
        items = [{"index": i, "image": str(p.image)} for i, p in enumerate(products)]
        log.info("embedding %d images on Ray with %d workers", len(items), self.workers)
        ds = ray.data.from_items(items).map_batches(
            EmbedWorker, fn_constructor_kwargs=worker_args, batch_size=self.settings.batch_size,
            concurrency=self.workers, num_cpus=1, batch_format="numpy",
        )
        rows = sorted(ds.iter_rows(), key=lambda r: int(r["index"]))  # Ray Data does not keep the order
        for row in rows:
            product = products[int(row["index"])]
            if not bool(row["ok"]):
                on_error(Failed(product, str(row["reason"]), str(row["message"])))
                continue
            if bool(row["hit"]):
                self.cache_hits += 1
            else:
                self.embedded += 1
            yield product, np.asarray(row["vector"], dtype=np.float32)

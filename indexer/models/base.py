"""The one interface every embedding model implements, and the registry that builds them.

A model turns PIL images into float32 vectors: ``preprocess`` (resize, scale) then
``embed`` (the network). ``embed_images`` does both; ``embed_stream`` overlaps the two,
decoding and preprocessing the next batch in a thread while the network runs on this one
(TensorFlow and Pillow both release the GIL, so the two cores are both busy).

Random weights exist only for unit tests: :func:`load_model` builds them only when the
caller passes ``allow_random=True`` (no CLI path does), and such a model says so in
``random_weights`` so an index built with it is marked and warned about.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

if TYPE_CHECKING:
    from lookalike.settings import Settings

log = logging.getLogger(__name__)

K = TypeVar("K")

TF_THREADS = 2  # this machine's cores; intra-op parallelism of every model


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def configure_tensorflow(threads: int = TF_THREADS) -> None:
    """Pin TensorFlow's thread pools; only possible before TF runs its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised by an earlier model: keep its setting
        log.debug("TensorFlow already initialised; thread pools left as they are")


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

    @abstractmethod
    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        """Images -> ``float32[n, input_size, input_size, 3]`` as the network expects it."""

    @abstractmethod
    def embed(self, batch: np.ndarray) -> np.ndarray:
        """A preprocessed batch -> ``float32[n, output_dim]``. Safe to call from any thread."""

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        return self.embed(self.preprocess(images))

    def embed_stream(
        self, items: Iterable[tuple[K, Image.Image]], batch_size: int, prefetch: int = 2
    ) -> Iterator[tuple[list[K], np.ndarray]]:
        """Embed ``(key, image)`` pairs in batches, yielding ``(keys, vectors)``.

        A worker thread pulls from ``items`` (so lazy image decoding happens there) and
        preprocesses up to ``prefetch`` batches ahead while this thread runs the network.
        An exception raised by ``items`` is re-raised here, after the batches before it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ready: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        stop = threading.Event()
        done = object()

        def put(entry: Any) -> bool:
            while not stop.is_set():
                try:
                    ready.put(entry, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                keys: list = []
                images: list = []
                for key, image in items:
                    keys.append(key)
                    images.append(image)
                    if len(keys) == batch_size:
                        if not put((keys, self.preprocess(images))):
                            return
                        keys, images = [], []
                if keys and not put((keys, self.preprocess(images))):
                    return
                put(done)
            except BaseException as err:  # handed to the consumer, raised there
                put(err)

        worker = threading.Thread(target=produce, name=f"{self.name}-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                entry = ready.get()
                if entry is done:
                    return
                if isinstance(entry, BaseException):
                    raise entry
                keys, batch = entry
                yield keys, self.embed(batch)
        finally:
            stop.set()
            worker.join(timeout=5)

    def describe(self) -> dict[str, Any]:
        """What an index manifest records about the model."""
        return {
            "model": self.name,
            "weights_sha256": self.weights_sha256,
            "random_weights": self.random_weights,
            "input_size": self.input_size,
            "output_dim": self.output_dim,
        }


class KerasEmbeddingModel(EmbeddingModel):
    """A Keras network whose call on a preprocessed batch is the pooled embedding."""

    def __init__(self, network: Any, weights_sha256: str, random_weights: bool):
        import tensorflow as tf

        self.network = network
        self.weights_sha256 = weights_sha256
        self.random_weights = random_weights
        size = self.input_size
        self._forward = tf.function(
            lambda x: network(x, training=False),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
            reduce_retracing=True,
        )

    def embed(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        size = self.input_size
        if batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ModelError(f"expected a batch of shape (n, {size}, {size}, 3), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        return self._forward(batch).numpy().astype(np.float32, copy=False)


_Factory = Callable[["Settings", bool], EmbeddingModel]


def _registry() -> dict[str, _Factory]:
    # Imported lazily: importing a model module must not import TensorFlow.
    from indexer.models import efficientnet_lite, inception

    return {
        efficientnet_lite.NAME: efficientnet_lite.load,
        inception.NAME: inception.load,
    }


MODEL_NAMES = ("efficientnet_lite0", "inception_v3")


def load_model(name: str, settings: Settings, *, allow_random: bool = False) -> EmbeddingModel:
    """Build the model ``name`` with its pretrained weights (or random ones, tests only)."""
    factories = _registry()
    if name not in factories:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(sorted(factories))}")
    model = factories[name](settings, allow_random)
    if model.random_weights:
        log.warning("model %s uses RANDOM weights: for tests only, its vectors mean nothing", name)
    return model


class LazyModel:
    """A model whose identity (name, weights hash) is known before its network is built.

    The reindex job needs the weights hash to look embeddings up in the cache; building the
    network (tens of seconds) is only worth it when some image is not cached. The first call
    to :meth:`preprocess` or :meth:`embed` builds it, once, under a lock.
    """

    def __init__(self, name: str, settings: Settings, *, allow_random: bool, weights_sha256: str):
        self.name = name
        self.weights_sha256 = weights_sha256
        self.random_weights = False
        self._settings = settings
        self._allow_random = allow_random
        self._model: EmbeddingModel | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _get(self) -> EmbeddingModel:
        with self._lock:
            if self._model is None:
                model = load_model(self.name, self._settings, allow_random=self._allow_random)
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


def open_model(name: str, settings: Settings, *, allow_random: bool = False) -> EmbeddingModel | LazyModel:
    """A model ready to identify itself; its network is built on first use when that is cheaper.

    Models whose pretrained weights are a local file (``weights_identity``) are opened lazily;
    the others (random weights, weights still to download) are loaded at once.
    """
    from indexer.models import efficientnet_lite

    if name == efficientnet_lite.NAME:
        sha = efficientnet_lite.weights_identity(settings)
        if sha is not None:
            return LazyModel(name, settings, allow_random=allow_random, weights_sha256=sha)
    return load_model(name, settings, allow_random=allow_random)

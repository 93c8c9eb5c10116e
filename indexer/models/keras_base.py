"""Models that are a Keras network: the TensorFlow side every Keras model shares."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from lookalike.errors import ModelError
from lookalike.machine import available_cpus

from .base import EmbeddingModel
from .options import EmbeddingOptions
from .tf_import import import_tensorflow

log = logging.getLogger(__name__)


def configure_tensorflow(threads: int | None = None) -> None:
    """Pin TensorFlow's thread pools (default: this machine's CPUs); only possible before TF runs its first op."""
    tf = import_tensorflow()

    threads = threads or available_cpus()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised by an earlier model: keep its setting
        log.debug("TensorFlow already initialised; thread pools left as they are")


class KerasEmbeddingModel(EmbeddingModel):
    """A Keras network whose call on a preprocessed batch is the embedding.

    A network that ends in a feature map ``[n, h, w, c]`` is pooled here, as ``options.pooling``
    says; one that ends pooled (InceptionV3's ``pool_3``) takes average pooling only. With
    ``options.flip`` the vector is the mean of the image's and its mirror image's.
    """

    def __init__(self, network: Any, weights_sha256: str, random_weights: bool,
                 options: EmbeddingOptions | None = None):
        tf = import_tensorflow()

        self.network = network
        self.weights_sha256 = weights_sha256
        self.random_weights = random_weights
        self.options = options or EmbeddingOptions()
        pooled_network = len(network.output.shape) == 2
        if pooled_network and self.options.pooling != "avg":
            raise ModelError(f"{self.name} ends in average pooling; pooling {self.options.pooling!r} is not available")
        pooling, p, flip = self.options.pooling, self.options.gem_p, self.options.flip

        def pool(x):
            if pooled_network:
                return x
            if pooling == "max":
                return tf.reduce_max(x, axis=[1, 2])
            if pooling == "gem":
                return tf.reduce_mean(tf.maximum(x, 1e-6) ** p, axis=[1, 2]) ** (1.0 / p)
            return tf.reduce_mean(x, axis=[1, 2])

        def forward(x):
            y = pool(network(x, training=False))
            if flip:
                y = 0.5 * (y + pool(network(tf.reverse(x, axis=[2]), training=False)))
            return y

        size = self.input_size
        self._forward = tf.function(
            forward, input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], reduce_retracing=True,
        )

    def embed(self, batch: np.ndarray) -> np.ndarray:
        batch = self.checked_batch(batch)
        if len(batch) == 0:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        return self._forward(batch).numpy().astype(np.float32, copy=False)

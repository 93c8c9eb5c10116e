"""Models that are a Keras network: the TensorFlow side every Keras model shares."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from lookalike.errors import ModelError
from lookalike.machine import available_cpus

from .base import EmbeddingModel

log = logging.getLogger(__name__)


def configure_tensorflow(threads: int | None = None) -> None:
    """Pin TensorFlow's thread pools (default: this machine's CPUs); only possible before TF runs its first op."""
    import tensorflow as tf

    threads = threads or available_cpus()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised by an earlier model: keep its setting
        log.debug("TensorFlow already initialised; thread pools left as they are")


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

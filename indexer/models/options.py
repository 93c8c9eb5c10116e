"""The options that change what a model's vectors are: framing, pooling, flip averaging, the runtime.

Every option here changes the vector, so :attr:`EmbeddingOptions.tag` is part of the
model's identity (``efficientnet_lite0+trim+gem3``): the embedding cache key, the PCA
manifest's model and the index record all carry it, and the photo path rebuilds the same
options from the record (:meth:`from_record`). The defaults (nothing) have an empty tag, so
an index built before these options existed keeps its identity and its cache.

The runtime (:data:`RUNTIMES`) runs the bundled EfficientNet-Lite models in TensorFlow, in ONNX
Runtime at float32, or in ONNX Runtime quantized to int8 (:mod:`indexer.models.lite_runtime`);
``auto`` (the settings' default) is ONNX Runtime at float32 where it can run the model, else
TensorFlow (:func:`indexer.models.registry.load_model` resolves it; the model's options then name
the runtime that ran).
Only int8 changes the vectors (cosine about 0.99 to float32), so only ``onnx-int8`` is in the
tag (``efficientnet_lite0+trim+int8``); ONNX Runtime at float32 gives TensorFlow's vectors
within 1e-4 (the graph is built from the same weights), so it shares TensorFlow's identity and
embedding cache: a catalog embedded by one is served by the other with nothing re-embedded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from lookalike.errors import ConfigError

POOLINGS = ("avg", "gem", "max")
RUNTIMES = ("auto", "tensorflow", "onnx", "onnx-int8")
AUTO, INT8 = "auto", "onnx-int8"


@dataclass(frozen=True)
class EmbeddingOptions:
    trim: bool = False  # crop to the product (near-uniform borders cut, a margin kept) before resizing
    pooling: str = "avg"  # of the last feature map: average, generalised mean (GeM, power gem_p) or max
    gem_p: float = 3.0
    flip: bool = False  # average the vectors of the image and its mirror image
    runtime: str = "tensorflow"  # what runs the network: TensorFlow, ONNX Runtime float32 or int8, or auto

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {self.pooling!r}; choose one of: {', '.join(POOLINGS)}")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"unknown model runtime {self.runtime!r}; choose one of: {', '.join(RUNTIMES)}")
        if not 1.0 <= self.gem_p <= 16.0:
            raise ConfigError(f"the GeM power must be between 1 and 16, got {self.gem_p}")

    @property
    def tag(self) -> str:
        """``trim+gem3+flip`` for what is switched on; empty for the defaults."""
        parts = []
        if self.trim:
            parts.append("trim")
        if self.pooling == "gem":
            parts.append(f"gem{self.gem_p:g}")
        elif self.pooling == "max":
            parts.append("max")
        if self.flip:
            parts.append("flip")
        if self.quantized:
            parts.append("int8")
        return "+".join(parts)

    @property
    def quantized(self) -> bool:
        """The int8 runtime: vectors of their own (the identity says so)."""
        return self.runtime == INT8

    def with_runtime(self, runtime: str) -> EmbeddingOptions:
        """These options run by ``runtime`` when that makes the same vectors, else unchanged.

        An index's record says how its vectors were made; the photo path and the upsert follow it,
        but a float32 index may be embedded by either float32 runtime (the one this machine is set
        to; ``onnx-int8`` here means ONNX Runtime at float32 for it): same identity, same vectors.
        An int8 index is always embedded with int8.
        """
        if self.quantized:
            return self
        return replace(self, runtime="onnx" if runtime == INT8 else runtime)

    def identity(self, model_name: str) -> str:
        return f"{model_name}+{self.tag}" if self.tag else model_name

    def as_dict(self) -> dict[str, Any]:
        """What shapes the vectors (the index recipe's ``embedding``): the runtime only when it is
        int8, so an index built by either float32 runtime has one recipe (and ``--if-changed`` sees
        no change between them, nor in an index built before the runtime was an option)."""
        values = asdict(self)
        if not self.quantized:
            del values["runtime"]
        return values

    @classmethod
    def from_record(cls, recipe: dict[str, Any]) -> EmbeddingOptions:
        """The options an index recorded (``IndexRecord.recipe["embedding"]``); none before they existed."""
        return cls(**(recipe or {}).get("embedding", {}))

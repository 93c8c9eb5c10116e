"""The options that change what a model's vectors are: framing, pooling, flip averaging.

Every option here changes the vector, so :attr:`EmbeddingOptions.tag` is part of the
model's identity (``efficientnet_lite0+trim+gem3``): the embedding cache key, the PCA
manifest's model and the index record all carry it, and the photo path rebuilds the same
options from the record (:meth:`from_record`). The defaults (nothing) have an empty tag, so
an index built before these options existed keeps its identity and its cache.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lookalike.errors import ConfigError

POOLINGS = ("avg", "gem", "max")


@dataclass(frozen=True)
class EmbeddingOptions:
    trim: bool = False  # crop to the product (near-uniform borders cut, a margin kept) before resizing
    pooling: str = "avg"  # of the last feature map: average, generalised mean (GeM, power gem_p) or max
    gem_p: float = 3.0
    flip: bool = False  # average the vectors of the image and its mirror image

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {self.pooling!r}; choose one of: {', '.join(POOLINGS)}")
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
        return "+".join(parts)

    def identity(self, model_name: str) -> str:
        return f"{model_name}+{self.tag}" if self.tag else model_name

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, recipe: dict[str, Any]) -> EmbeddingOptions:
        """The options an index recorded (``IndexRecord.recipe["embedding"]``); none before they existed."""
        return cls(**(recipe or {}).get("embedding", {}))

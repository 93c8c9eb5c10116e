"""Vector arithmetic shared by clustering, propagation, navigation and preference (pure).

Scoring mirrors the ``{!lookalike}`` plugin (solr/plugin ``TargetSimilarity``) exactly, so a
score computed here for the reasons shown to a merchandiser is the score Solr ranked by:

    pos = max_i cos(p_i, v)        (combine=max)   or   cos(mean of unit p_i, v)   (combine=mean)
    neg = max_j cos(n_j, v)        (0 without negatives)
    sim = pos - unlike_weight * neg
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.errors import BadRequest

COMBINES = ("max", "mean")


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; a zero row stays zero (it has no direction)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        n = float(np.linalg.norm(x))
        return x / n if n > 0 else x.copy()
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def to_score(cosine: float) -> float:
    """Cosine (-1..1) to the plugin's and Lucene's score scale (0..1)."""
    return (1.0 + cosine) / 2.0


@dataclass(frozen=True)
class Scored:
    """What one candidate scored and why: its cosine to each positive and negative example."""

    similarity: float
    positive_cosines: tuple[float, ...]
    negative_cosines: tuple[float, ...]


class ExampleScorer:
    """Scores vectors against positive (and optional negative) example vectors.

    ``combine`` is ``max`` (a candidate needs to resemble one example) or ``mean`` (the
    examples' average direction); ``unlike_weight`` scales the best negative cosine.
    """

    def __init__(self, positives: np.ndarray, negatives: np.ndarray | None = None, *,
                 combine: str = "max", unlike_weight: float = 1.0):
        if combine not in COMBINES:
            raise BadRequest(f"combine must be one of {', '.join(COMBINES)}, got {combine!r}")
        positives = np.atleast_2d(np.asarray(positives, dtype=np.float32))
        if positives.shape[0] == 0 or positives.size == 0:
            raise BadRequest("give at least one positive example")
        dims = positives.shape[1]
        if negatives is None or np.asarray(negatives).size == 0:
            negatives = np.zeros((0, dims), dtype=np.float32)
        negatives = np.atleast_2d(np.asarray(negatives, dtype=np.float32))
        if negatives.shape[1] != dims:
            raise BadRequest(f"negative examples have {negatives.shape[1]} dimensions, positives {dims}")
        if unlike_weight < 0:
            raise BadRequest(f"unlike_weight must be 0 or more, got {unlike_weight}")
        self.positives = normalize(positives)
        self.negatives = normalize(negatives)
        self.combine = combine
        self.unlike_weight = float(unlike_weight)
        self.dims = dims
        mean = normalize(self.positives.mean(axis=0))
        self._targets = self.positives if combine == "max" else mean[None, :]

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """The combined similarity of each row of ``vectors`` (any length; normalised here)."""
        v = self._check(vectors)
        pos = (v @ self._targets.T).max(axis=1)
        if len(self.negatives):
            pos = pos - self.unlike_weight * (v @ self.negatives.T).max(axis=1)
        return pos

    def explain(self, vectors: np.ndarray) -> list[Scored]:
        """Per row: the similarity and the cosine to every example (the reason shown)."""
        v = self._check(vectors)
        pos = v @ self.positives.T
        neg = v @ self.negatives.T if len(self.negatives) else np.zeros((len(v), 0), np.float32)
        sims = self.similarity(v)
        return [
            Scored(float(s), tuple(float(x) for x in p), tuple(float(x) for x in n))
            for s, p, n in zip(sims, pos, neg)
        ]

    def _check(self, vectors: np.ndarray) -> np.ndarray:
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if v.shape[1] != self.dims:
            raise BadRequest(f"expected vectors of {self.dims} dimensions, got {v.shape[1]}")
        return normalize(v)

"""Maximal marginal relevance (Carbonell & Goldstein, 1998), pure.

Greedy: the next item is the candidate maximising

    lambda * relevance(i) - (1 - lambda) * max_{j already chosen} cos(i, j)

so each step shows neighbours of the chosen image that are also different from each other.
``lambda = 1`` is plain relevance order; ``lambda = 0`` is pure diversity (after the most
relevant item, which is always first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.errors import BadRequest
from merch.vectors import normalize


@dataclass(frozen=True)
class Pick:
    index: int  # position in the candidate list
    relevance: float
    redundancy: float  # the highest cosine to an item picked before it (0 for the first)
    mmr: float


def mmr_select(relevance: np.ndarray, vectors: np.ndarray, k: int, *, lambda_: float = 0.7) -> list[Pick]:
    """Pick up to ``k`` candidates in MMR order; ``relevance`` is one number per row of ``vectors``."""
    if not 0.0 <= lambda_ <= 1.0:
        raise BadRequest(f"lambda must be between 0 and 1, got {lambda_}")
    rel = np.asarray(relevance, dtype=np.float64)
    x = normalize(vectors)
    if len(rel) != len(x):
        raise BadRequest(f"{len(rel)} relevance values for {len(x)} vectors")
    n = len(rel)
    k = min(k, n)
    if k <= 0:
        return []
    chosen: list[Pick] = []
    redundancy = np.zeros(n)  # max cosine to anything chosen so far
    available = np.ones(n, dtype=bool)
    for step in range(k):
        score = lambda_ * rel - (1.0 - lambda_) * redundancy if step else rel.copy()
        score[~available] = -np.inf
        i = int(np.argmax(score))
        chosen.append(Pick(i, float(rel[i]), float(redundancy[i]) if step else 0.0, float(score[i])))
        available[i] = False
        cos = x @ x[i]
        redundancy = cos if step == 0 else np.maximum(redundancy, cos)
    return chosen

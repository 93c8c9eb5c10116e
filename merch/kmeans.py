"""Clustering the catalog's vectors (pure: arrays in, arrays out).

:class:`CatalogClusterer` follows scikit-learn's estimator habits: ``__init__`` stores
keyword-only parameters, ``fit`` does the work, fitted state ends in ``_``.

**How k is chosen when not given** (:func:`choose_k`). A merchandiser browses clusters by
eye, so the scale comes from the classic rule of thumb k0 = sqrt(n/2) (2,000 products -> ~32
clusters of ~60), capped at ``max_k`` (100). Within a factor of two of k0 the rule then lets the
data speak: it fits k-means for a small grid of k (k0 and 6 values from k0/2 to 2*k0) on a sample
of at most 2,000 vectors and keeps the k with the best mean silhouette (cosine distance). The
band keeps silhouette from its known bias to tiny k (k=2 often "wins" on image embeddings,
which is useless to browse), and the sample keeps the O(n^2) silhouette cheap on any catalog.
Everything is seeded, so the same vectors give the same k and the same clusters.

Vectors are L2-normalised first, so k-means on them is spherical k-means in effect (Euclidean
distance between unit vectors is a monotone function of cosine). Below ``minibatch_above``
(10,000) vectors the full ``KMeans`` runs; above it ``MiniBatchKMeans``.

Cluster ids are ordered by size, largest first (ties: by medoid position), so cluster 0 is
the biggest and ids are stable for the same input. The **medoid** of a cluster is its member
with the highest cosine to the cluster's (normalised) centroid: the most representative product.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

from lookalike.errors import BadRequest
from merch.vectors import normalize

MAX_K = 100
SILHOUETTE_SAMPLE = 2000
GRID_SIZE = 6


def rule_of_thumb_k(n: int, *, max_k: int = MAX_K) -> int:
    """sqrt(n/2), at least 2, at most ``max_k`` and at most n."""
    return max(1, min(n, max_k, max(2, round(math.sqrt(n / 2)))))


def k_grid(n: int, *, max_k: int = MAX_K) -> list[int]:
    """The k values :func:`choose_k` tries: k0 and 6 values spread geometrically from k0/2 to 2*k0,
    within [2, min(n-1, max_k)]."""
    k0 = rule_of_thumb_k(n, max_k=max_k)
    lo, hi = max(2, k0 // 2), min(n - 1, max_k, 2 * k0)
    if hi < lo:
        return [max(1, min(n, k0))]
    points = np.round(np.geomspace(lo, hi, GRID_SIZE)).astype(int).tolist()
    if lo <= k0 <= hi:
        points.append(k0)
    return sorted({int(k) for k in points})


def choose_k(vectors: np.ndarray, *, max_k: int = MAX_K, random_state: int = 0) -> tuple[int, dict[int, float]]:
    """The k with the best silhouette on a sample, over :func:`k_grid`; returns (k, {k: silhouette})."""
    x = normalize(vectors)
    n = len(x)
    if n < 3:
        return max(1, n), {}
    grid = k_grid(n, max_k=max_k)
    rng = np.random.default_rng(random_state)
    sample = x if n <= SILHOUETTE_SAMPLE else x[rng.choice(n, SILHOUETTE_SAMPLE, replace=False)]
    scores: dict[int, float] = {}
    for k in grid:
        if k < 2 or k >= len(sample):
            continue
        labels = KMeans(n_clusters=k, n_init=1, random_state=random_state).fit_predict(sample)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(sample, labels, metric="cosine"))
    if not scores:
        return rule_of_thumb_k(n, max_k=max_k), {}
    best = max(scores, key=lambda k: (scores[k], -k))
    return best, scores


class CatalogClusterer:
    """k-means on unit vectors, with medoids and size-ordered cluster ids."""

    def __init__(self, *, k: int | None = None, max_k: int = MAX_K, minibatch_above: int = 10_000,
                 random_state: int = 0):
        self.k = k
        self.max_k = max_k
        self.minibatch_above = minibatch_above
        self.random_state = random_state

    def fit(self, vectors: np.ndarray) -> "CatalogClusterer":
        x = normalize(vectors)
        if x.ndim != 2 or len(x) == 0:
            raise BadRequest("there are no vectors to cluster")
        n = len(x)
        if self.k is not None:
            if not 1 <= self.k <= n:
                raise BadRequest(f"k must be between 1 and the number of products ({n}), got {self.k}")
            k, self.silhouettes_ = self.k, {}
            self.k_rule_ = "given"
        else:
            k, self.silhouettes_ = choose_k(x, max_k=self.max_k, random_state=self.random_state)
            self.k_rule_ = "silhouette" if self.silhouettes_ else "sqrt(n/2)"
        if n > self.minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=self.random_state)
            self.algorithm_ = "MiniBatchKMeans"
        else:
            model = KMeans(n_clusters=k, n_init=4, random_state=self.random_state)
            self.algorithm_ = "KMeans"
        raw = model.fit_predict(x)
        centers = normalize(model.cluster_centers_.astype(np.float32))
        # Drop clusters k-means left empty, find medoids, then order by size.
        found = []
        for c in np.unique(raw):
            members = np.flatnonzero(raw == c)
            cos = x[members] @ centers[c]
            found.append((len(members), int(members[int(np.argmax(cos))]), c))
        found.sort(key=lambda t: (-t[0], t[1]))
        remap = np.full(int(raw.max()) + 1, -1, dtype=int)
        for new, (_, _, old) in enumerate(found):
            remap[old] = new
        self.labels_ = remap[raw]
        self.centers_ = np.stack([centers[old] for _, _, old in found])
        self.medoids_ = np.array([m for _, m, _ in found], dtype=int)
        self.sizes_ = np.array([s for s, _, _ in found], dtype=int)
        self.k_ = len(found)
        return self

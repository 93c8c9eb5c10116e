"""Self-supervised adaptation: a linear projection, learned on the catalog's own images, under
which an image and an augmented view of it (:mod:`indexer.augment`) land together.

It is learned whitening (Radenović et al., "Fine-tuning CNN image retrieval with no human
annotation"), with augmented views of one image playing the part of matching pairs, so no
label is needed. In closed form:

1. a plain PCA of the images and their views to ``first_width`` (drops the null space);
2. the within-pair covariance ``Cw`` of the differences (image - its view), shrunk towards
   its mean eigenvalue by ``shrinkage`` (it has few samples for its size), and the
   whitening ``Cw^(-1/2)``: directions in which views of one image disagree are squeezed;
3. a PCA of the whitened images (the between-image scatter) to ``n_components``.

The result is one matrix, applied like a PCA: ``(x - mean) @ components.T``, then L2.
"""

from __future__ import annotations

import numpy as np

from lookalike.errors import ConfigError


def learned_whitening(x: np.ndarray, views: np.ndarray, n_components: int, *, shrinkage: float = 0.1,
                      first_width: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean[d], components[k, d], variances[k])`` fitted on rows ``x`` and their views."""
    x = np.asarray(x, dtype=np.float64)
    views = np.asarray(views, dtype=np.float64)
    if views.shape != x.shape:
        raise ConfigError(f"the adaptation needs one view per image: got {views.shape} views for {x.shape} images")
    n, d = x.shape
    width = min(first_width, d, 2 * n - 1)
    if n_components > width:
        raise ConfigError(f"the adapted width {n_components} is more than {n} images and their views allow ({width})")
    mean = x.mean(axis=0)
    both = np.vstack([x, views]) - mean
    _, _, vt = np.linalg.svd(both, full_matrices=False)
    first = vt[:width]  # [width, d], orthonormal rows
    a, b = (x - mean) @ first.T, (views - mean) @ first.T
    diff = a - b
    within = diff.T @ diff / (2 * n)
    within = (1.0 - shrinkage) * within + shrinkage * np.trace(within) / width * np.eye(width)
    evals, evecs = np.linalg.eigh(within)
    whiten = evecs @ np.diag(1.0 / np.sqrt(np.maximum(evals, 1e-12))) @ evecs.T  # symmetric Cw^(-1/2)
    projected = np.vstack([a, b]) @ whiten
    projected -= projected.mean(axis=0)
    between = projected.T @ projected / (2 * n - 1)
    bvals, bvecs = np.linalg.eigh(between)
    top = np.argsort(bvals)[::-1][:n_components]
    components = (first.T @ whiten @ bvecs[:, top]).T  # [k, d]
    return mean, components, bvals[top]

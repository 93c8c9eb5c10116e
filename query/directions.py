"""Attribute directions: "like this, but more floral" as arithmetic on the query vector.

The direction of an attribute value is what products with it look like beyond their category:
the mean over those products of their unit vector minus their category's mean vector (the
category-centring that propagation uses, merch/centering.py, so a floral print moves the target
toward "floral", not toward "dress" because most floral products are dresses). Without a
category attribute, the catalog's mean is taken instead.

A target ``t`` moved by unit directions ``d_i`` (more) and ``e_j`` (less) with weight ``w`` is
``unit(unit(t) + w * sum d_i - w * sum e_j)``. Pure functions; the search service reads the
directions' samples (query/direction_samples.py) and sends the shift to the plugin, which moves the examples'
target it reads itself and runs it exactly or on HNSW like any other target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lookalike.errors import BadRequest


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0.0, 1.0, norms)


def centred_direction(vectors: np.ndarray, categories: Sequence[object] | None,
                      category_means: dict[object, np.ndarray] | None, catalog_mean: np.ndarray) -> np.ndarray:
    """The unit direction of the products ``vectors`` (one row each) beyond their categories.

    ``categories[i]`` is row i's category and ``category_means`` the mean unit vector of each
    category (over the catalog); a row whose category is unknown, or all rows when ``categories``
    is None, are centred on ``catalog_mean``.
    """
    rows = _unit_rows(vectors)
    if rows.shape[0] == 0:
        raise ValueError("a direction needs at least one product")
    means = np.stack([
        (category_means or {}).get(c, catalog_mean) if categories is not None else catalog_mean
        for c in (categories if categories is not None else [None] * rows.shape[0])
    ])
    d = (rows - means).mean(axis=0)
    norm = float(np.linalg.norm(d))
    if not np.isfinite(norm) or norm < 1e-9:
        raise BadRequest("those products look like the rest of their categories: the value has no direction to move toward")
    return d / norm


def shift(more: Sequence[np.ndarray], less: Sequence[np.ndarray], weight: float) -> np.ndarray:
    """``weight * (sum of more - sum of less)``: what :func:`steer` adds to the unit target (the
    exact plugin takes it as ``shift`` and adds it to the target it reads itself)."""
    dims = len(more[0]) if len(more) else len(less[0])
    total = np.zeros(dims, dtype=np.float64)
    for d in more:
        total += np.asarray(d, dtype=np.float64)
    for e in less:
        total -= np.asarray(e, dtype=np.float64)
    return weight * total


def steer(target: np.ndarray, more: Sequence[np.ndarray], less: Sequence[np.ndarray], weight: float) -> np.ndarray:
    """``unit(unit(target) + weight * (sum of more - sum of less))``."""
    t = np.asarray(target, dtype=np.float64)
    t = t / np.linalg.norm(t)
    moved = t + shift(more, less, weight)
    norm = float(np.linalg.norm(moved))
    if not np.isfinite(norm) or norm < 1e-9:
        raise BadRequest("more and less cancel the target out: lower direction_weight")
    return moved / norm

"""The floor: rank by L2 distance between 16x16 thumbnails' raw pixels (grey or RGB).

Any learned vector should beat it; on the issue's held-out set it finds 0.356 of an item's
other renderings in the top 10. :func:`thumbnail` shrinks one picture (I/O-free, a PIL image
in, a flat float vector out); :func:`l2_rankings` ranks with numpy (pure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

SIDE = 16
MODES = {"grey": "L", "rgb": "RGB"}


def thumbnail(image: Image.Image, mode: str, side: int = SIDE) -> np.ndarray:
    """The picture shrunk to ``side x side`` (box filter), as a flat vector of 0..1 values."""
    small = image.convert(MODES[mode]).resize((side, side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32).ravel() / 255.0


def l2_rankings(features: np.ndarray, queries: Sequence[int], k: int,
                allowed: np.ndarray | None = None) -> list[list[int]]:
    """For each query row, the ``k`` nearest other rows by L2 (nearest first), among the rows
    where ``allowed`` (a boolean mask over the rows, or one mask per query) is true."""
    x = np.asarray(features, dtype=np.float64)
    sq = (x * x).sum(axis=1)
    q = x[list(queries)]
    d = sq[None, :] - 2.0 * q @ x.T + (q * q).sum(axis=1)[:, None]
    d[np.arange(len(queries)), list(queries)] = np.inf  # never the query itself
    if allowed is not None:
        mask = np.broadcast_to(np.asarray(allowed, dtype=bool), d.shape)
        d = np.where(mask, d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return [[int(j) for j in row if np.isfinite(d[i, j])] for i, row in enumerate(order)]

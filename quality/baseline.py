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
                allowed: np.ndarray | None = None, *, block: int = 256) -> list[list[int]]:
    """For each query row, the ``k`` nearest other rows by L2 (nearest first), among the rows
    where ``allowed`` (a boolean mask over the rows) is true. Queries go ``block`` at a time,
    so memory stays ``block x rows`` whatever the catalog's size."""
    x = np.asarray(features, dtype=np.float64)
    sq = (x * x).sum(axis=1)
    queries = list(queries)
    out: list[list[int]] = []
    for lo in range(0, len(queries), block):
        rows = queries[lo:lo + block]
        q = x[rows]
        d = sq[None, :] - 2.0 * q @ x.T + (q * q).sum(axis=1)[:, None]
        d[np.arange(len(rows)), rows] = np.inf  # never the query itself
        if allowed is not None:
            d[:, ~np.asarray(allowed, dtype=bool)] = np.inf
        n = d.shape[1]
        if k < n:  # the k smallest, unordered, then ordered by (distance, row)
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), (len(rows), n))
        for i, cand in enumerate(part):
            order = cand[np.lexsort((cand, d[i, cand]))]
            out.append([int(j) for j in order if np.isfinite(d[i, j])])
    return out

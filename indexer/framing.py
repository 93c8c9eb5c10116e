"""Framing: crop a product photo to the product before it is embedded.

Sellers frame one product differently: a wide white margin, a tight crop, a coloured
studio backdrop. :func:`trim_borders` finds the background colour on the image's outer
frame and cuts away the rows and columns, from each side, that are near-uniform in that
colour, then keeps a margin around what is left. A textured or busy background has no
uniform border and is left as it is; so is an image whose "product" would be tiny (a
speck of noise) or that has nothing to trim.

The search runs on a copy at most ``WORK_SIZE`` pixels wide, so it costs about a
millisecond whatever the photo's size; the crop itself is taken from the full image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WORK_SIZE = 160
TOLERANCE = 24  # largest per-channel difference (0..255) from the background that is still background
LINE_FRACTION = 0.02  # a row or column is product when more than this share of it differs
MARGIN = 0.04  # kept around the product, as a share of the product box's longer side
MIN_SHARE = 0.02  # a box smaller than this share of the image is noise: nothing is cropped


def product_box(image: Image.Image, *, tolerance: int = TOLERANCE, margin: float = MARGIN) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the product plus margin, in ``image``'s pixels
    (the whole image when there is no near-uniform border to trim)."""
    w, h = image.size
    whole = (0, 0, w, h)
    if w < 8 or h < 8:
        return whole
    scale = min(1.0, WORK_SIZE / max(w, h))
    small = image.convert("RGB")
    if scale < 1.0:
        small = small.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    a = np.asarray(small, dtype=np.int16)
    frame = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    background = np.median(frame, axis=0)
    # the border must itself be near-uniform, else this is a scene, not a backdrop
    if np.mean(np.abs(frame - background).max(axis=1) <= tolerance) < 0.8:
        return whole
    differs = np.abs(a - background).max(axis=2) > tolerance
    rows = np.flatnonzero(differs.mean(axis=1) > LINE_FRACTION)
    cols = np.flatnonzero(differs.mean(axis=0) > LINE_FRACTION)
    if rows.size == 0 or cols.size == 0:
        return whole
    sh, sw = a.shape[:2]
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if (bottom - top) * (right - left) < MIN_SHARE * sh * sw:
        return whole
    pad = margin * max(bottom - top, right - left)
    box = (max(0.0, left - pad), max(0.0, top - pad), min(sw, right + pad), min(sh, bottom + pad))
    box = tuple(int(round(v / scale)) for v in box)
    box = (box[0], box[1], min(w, box[2]), min(h, box[3]))
    return box if box[2] > box[0] and box[3] > box[1] else whole


def trim_borders(image: Image.Image, *, tolerance: int = TOLERANCE, margin: float = MARGIN) -> Image.Image:
    """``image`` cropped to :func:`product_box` (the same image object when nothing is cut)."""
    box = product_box(image, tolerance=tolerance, margin=margin)
    if box == (0, 0, *image.size):
        return image
    return image.crop(box)

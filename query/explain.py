"""Why two products look alike: the answer's shape and the pure parts of computing it.

An explanation of product ``b`` as a match for ``a`` has

* the **similarity** (cosine of their best pair of images, from the index's stored vectors)
  and which images that pair is (``image_a``, ``image_b``: indexes into each one's ``images``);
* the **attribute values they share** (equal values; for lists, the common items);
* an **occlusion heat-map** over each image of the pair: a grey patch is slid over the picture's
  ``grid x grid`` cells (two cells wide, centred on each cell in turn), each occluded copy is re-embedded with the index's model and PCA (all
  copies in one model batch), and a patch's weight is how much the similarity to the *other*
  product's stored vector drops without it (``max(0, s - s_without_patch)``). Regions that drive
  the similarity lose the most; a blank background loses nothing. The heat-map comes as the
  weights and as a PNG (the picture with the weights laid over it in red) in a data URL;
* for a propagation candidate (``examples`` given), the example it resembles most.

Nothing here does I/O: :mod:`query.explain_service` reads the products, their pictures and the
model, and caches answers by (index, a, b, examples).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

GREY = (128, 128, 128)
PATCH_CELLS = 2  # the grey patch's side, in grid cells (see occlusion_boxes)
OVERLAY_SIZE = 256  # the heat-map PNG's longer side, in pixels
OVERLAY_ALPHA = 0.65  # opacity of the red where the weight is highest


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Heatmap(_Frozen):
    product: str = Field(description="The product whose image this is.")
    image: int = Field(description="Which of its `images` (0: the main one).")
    grid: int = Field(description="The picture was cut into grid x grid patches.")
    weights: tuple[tuple[float, ...], ...] = Field(
        description="Rows top to bottom, columns left to right: how much the similarity drops when that patch "
        "is greyed out (cosine units, 0 or more).")
    png: str = Field(description="The picture in grey with the weights laid over it in red, as a data: URL (PNG).")


class ExampleMatch(_Frozen):
    id: str
    similarity: float = Field(description="Cosine similarity of their best pair of images.")


class Explanation(_Frozen):
    a: str
    b: str
    similarity: float = Field(description="Cosine similarity of a's and b's best pair of images, -1..1.")
    image_a: int = Field(description="Which of a's images is in the best pair.")
    image_b: int = Field(description="Which of b's images is in the best pair.")
    shared: dict[str, Any] = Field(default_factory=dict, description="Attribute values both products have.")
    heatmaps: tuple[Heatmap, ...] = Field(default=(), description="One per image of the best pair (a's, then b's).")
    examples: tuple[ExampleMatch, ...] = Field(
        default=(), description="The given examples by similarity to a, most similar first.")
    closest_example: ExampleMatch | None = Field(default=None, description="The example a resembles most.")
    notes: tuple[str, ...] = Field(default=(), description="What was left out and why (the time budget, a remote image).")
    cached: bool = False
    took_ms: float = 0.0


def best_pair(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """``(row of a, row of b, cosine)`` of the closest pair of unit vectors (one image a row)."""
    sims = np.atleast_2d(np.asarray(a, dtype=np.float64)) @ np.atleast_2d(np.asarray(b, dtype=np.float64)).T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return int(i), int(j), float(sims[i, j])


def shared_attributes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes whose values both have: equal scalars, or the items two lists share (in a's order)."""
    out: dict[str, Any] = {}
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if isinstance(x, list) or isinstance(y, list):
            xs, ys = (x if isinstance(x, list) else [x]), (y if isinstance(y, list) else [y])
            common = [v for v in xs if v in ys]
            if common:
                out[name] = common
        elif x == y:
            out[name] = x
    return out


def occlusion_boxes(width: int, height: int, grid: int) -> list[tuple[int, int, int, int]]:
    """Where the grey patch goes, row by row over the ``grid x grid`` cells: ``(left, top, right,
    bottom)`` of a patch ``PATCH_CELLS`` cells wide centred on the cell, clipped to the picture.

    A patch of one cell barely moves a CNN's pooled vector (measured on the demo: drops of 0.00-0.05
    for a near duplicate, most of the product's cells at 0); two cells wide, slid one cell at a
    time, the product's cells drop by 0.02-0.10 and the blank background's stay at 0.00-0.005."""
    cw, ch = width / grid, height / grid
    boxes = []
    for r in range(grid):
        for c in range(grid):
            cx, cy = (c + 0.5) * cw, (r + 0.5) * ch
            hw, hh = PATCH_CELLS * cw / 2, PATCH_CELLS * ch / 2
            boxes.append((max(0, round(cx - hw)), max(0, round(cy - hh)),
                          min(width, round(cx + hw)), min(height, round(cy + hh))))
    return boxes


def occluded_pictures(picture: Image.Image, grid: int) -> list[Image.Image]:
    """The picture itself, then one copy per patch with that patch grey."""
    picture = picture.convert("RGB")
    out = [picture]
    for box in occlusion_boxes(picture.width, picture.height, grid):
        copy = picture.copy()
        copy.paste(GREY, box)
        out.append(copy)
    return out


def occlusion_weights(vectors: np.ndarray, other: np.ndarray, grid: int) -> np.ndarray:
    """``float[grid, grid]`` from the embeddings of :func:`occluded_pictures` (row 0: the picture
    itself) and the other product's unit vector: the similarity each patch's removal costs."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.shape[0] != grid * grid + 1:
        raise ValueError(f"expected {grid * grid + 1} vectors for a {grid}x{grid} grid, got {v.shape[0]}")
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    sims = v @ np.asarray(other, dtype=np.float64)
    return np.maximum(0.0, sims[0] - sims[1:]).reshape(grid, grid)


def overlay_png(picture: Image.Image, weights: np.ndarray) -> str:
    """The picture in grey (its longer side ``OVERLAY_SIZE``) with the weights in red over it, as a PNG data URL."""
    picture = picture.convert("RGB")
    scale = OVERLAY_SIZE / max(picture.width, picture.height)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    # the picture in grey, so that the red reads as the heat-map on a red product too
    base = picture.resize(size, Image.Resampling.BILINEAR).convert("L").convert("RGB")
    w = np.asarray(weights, dtype=np.float64)
    top = float(w.max())
    norm = (w / top) if top > 0 else np.zeros_like(w)
    grid_img = Image.fromarray(np.round(norm * 255).astype(np.uint8), mode="L")
    alpha = grid_img.resize(size, Image.Resampling.BILINEAR).point(lambda a: int(a * OVERLAY_ALPHA))
    red = Image.new("RGB", size, (220, 20, 20))
    out = Image.composite(red, base, alpha)
    buf = io.BytesIO()
    out.save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def heatmap(product: str, image: int, picture: Image.Image, vectors: np.ndarray, other: np.ndarray,
            grid: int) -> Heatmap:
    weights = occlusion_weights(vectors, other, grid)
    return Heatmap(product=product, image=image, grid=grid,
                   weights=tuple(tuple(round(float(x), 6) for x in row) for row in weights),
                   png=overlay_png(picture, weights))


def rank_examples(a: np.ndarray, examples: Mapping[str, np.ndarray]) -> list[ExampleMatch]:
    """The examples by their best pair of images with ``a``, most similar first (ties by id)."""
    scored = [ExampleMatch(id=i, similarity=round(best_pair(a, v)[2], 6)) for i, v in examples.items()]
    return sorted(scored, key=lambda m: (-m.similarity, m.id))


def check_pair(a: str, b: str, examples: Sequence[str]) -> None:
    from lookalike.errors import BadRequest

    if a == b:
        raise BadRequest("explain compares two different products; a and b are the same id")
    if len(set(examples)) != len(examples):
        raise BadRequest("the same example id is given twice")

"""Development set "photos": crops of real photographs, re-photographed by the same sellers.

A different source of imagery from the drawn designs, so a change is not tuned to one set.
Each *item* is a print made from a region of a real photograph shipped by scikit-image
(``skimage.data``: astronaut, chelsea the cat, coffee, rocket, retina, immunohistochemistry,
camera, coins, moon, Hubble deep field, the left motorcycle of the stereo pair) or scikit-learn
(``china.jpg``, ``flower.jpg``): each photograph is cut into a grid of about
:data:`CELLS_PER_PHOTO` cells, near-flat cells are dropped, and a seeded shuffle picks the
items. Neighbouring cells of one photograph look alike (same colours, same texture): that is
the hard part. Each item also gets a shape shared by all its pictures (a plain print, a
rounded card, an oval badge, a print in a white frame), then each seller photographs it
(:func:`quality.devsets.sellers.photograph`). Scene backgrounds are crops of scikit-image's
brick, grass and gravel textures, never of an item's photograph.

Needs scikit-image (a test and bench dependency). No package on the reachable registries was
found to ship real photographs of one product from several sources; scikit-image's
``stereo_motorcycle`` is the one real two-view pair, too small a set on its own.

Catalog fields: ``item`` (the ground truth: the cell), ``group`` (the same partition),
``photo`` (the photograph the cell comes from: items sharing it are the confusers),
``source`` (the seller), ``frame`` (the print's shape), ``background``, ``image_size``, ``title``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lookalike.errors import BadRequest
from quality.devsets.writer import Job, write_set

NAME = "photos"
CELLS_PER_PHOTO = 36
MIN_CELL = 64
FRAMES = ("print", "card", "badge", "framed")
ITEM_SIDE = 320  # cells are resized to this before a seller photographs them


def generate_photos(out_dir: Path | str, *, items: int = 300, sellers: int = 4, seed: int = 0,
                    workers: int | None = None) -> Path:
    """Write ``items`` x ``sellers`` pictures into ``out_dir``; returns ``catalog.jsonl``."""
    photos = _photos()
    cells = []
    for name, photo in photos.items():
        cells += [(name, box) for box in _grid(photo)]
    if not 2 <= items <= len(cells):
        raise ValueError(f"items must be between 2 and {len(cells)} (the cells available), got {items}")
    rng = np.random.default_rng([seed, 11])
    chosen = [cells[i] for i in sorted(rng.permutation(len(cells))[:items])]
    jobs = []
    for index, (name, box) in enumerate(chosen):
        frame = FRAMES[int(np.random.default_rng([seed, index, 13]).integers(len(FRAMES)))]
        jobs.append(Job(
            index=index, item=f"item-{index:04d}",
            cutout=lambda name=name, box=box, frame=frame: _cutout(photos[name], box, frame),
            fields={"title": f"{frame} from {name}, cell {box[0]},{box[1]}", "group": f"cell-{index:04d}",
                    "photo": name, "frame": frame},
        ))
    return write_set(out_dir, jobs, name=NAME, sellers=sellers, seed=seed, scenes=_textures(), workers=workers)


def _grid(photo: np.ndarray) -> list[tuple[int, int, int, int]]:
    """About CELLS_PER_PHOTO square cells tiling the photograph; near-flat cells dropped."""
    h, w = photo.shape[:2]
    side = max(MIN_CELL, int((h * w / CELLS_PER_PHOTO) ** 0.5))
    boxes = []
    for y in range(0, h - side + 1, side):
        for x in range(0, w - side + 1, side):
            cell = photo[y:y + side, x:x + side].astype(np.float32)
            if cell.std() >= 18 and cell.mean() >= 25:
                boxes.append((x, y, x + side, y + side))
    return boxes


def _cutout(photo: np.ndarray, box: tuple[int, int, int, int], frame: str) -> Image.Image:
    x0, y0, x1, y1 = box
    print_ = Image.fromarray(photo[y0:y1, x0:x1]).convert("RGB").resize((ITEM_SIDE, ITEM_SIDE), Image.Resampling.BICUBIC)
    S = ITEM_SIDE
    if frame == "framed":  # a white passe-partout and a thin dark frame
        out = Image.new("RGB", (S + 64, S + 64), (30, 30, 30))
        out.paste(Image.new("RGB", (S + 52, S + 52), (245, 245, 240)), (6, 6))
        out.paste(print_, (32, 32))
        return out.convert("RGBA")
    mask = Image.new("L", (S, S), 0)
    d = ImageDraw.Draw(mask)
    if frame == "card":
        d.rounded_rectangle((0, 0, S - 1, S - 1), radius=S // 8, fill=255)
    elif frame == "badge":
        d.ellipse((0, S // 10, S - 1, S - 1 - S // 10), fill=255)
    else:
        d.rectangle((0, 0, S - 1, S - 1), fill=255)
    out = print_.convert("RGBA")
    out.putalpha(mask)
    return out


@lru_cache(maxsize=1)
def _photos() -> dict[str, np.ndarray]:
    try:
        from skimage import data
    except ImportError as err:
        raise BadRequest("the photos development set needs scikit-image: pip install scikit-image") from err
    from sklearn.datasets import load_sample_image

    photos = {name: getattr(data, name)() for name in (
        "astronaut", "chelsea", "coffee", "rocket", "retina", "immunohistochemistry", "camera", "coins",
        "moon", "hubble_deep_field")}
    photos["motorcycle"] = data.stereo_motorcycle()[0]
    for name in ("china.jpg", "flower.jpg"):
        photos[name.removesuffix(".jpg")] = np.asarray(load_sample_image(name))
    return photos


@lru_cache(maxsize=1)
def _textures() -> tuple[np.ndarray, ...]:
    from skimage import data

    return tuple(np.stack([getattr(data, name)()] * 3, axis=-1) for name in ("brick", "grass", "gravel"))

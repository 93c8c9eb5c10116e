"""The fixed set of real photographs the int8 models are calibrated on.

Static int8 quantization needs the range of every activation, measured on images like the ones
the model will see. The set is fixed and shipped with registry packages, so every machine
quantizes the same way: fourteen photographs from scikit-image (``skimage.data``: astronaut,
chelsea the cat, coffee, rocket, retina, immunohistochemistry, camera, coins, moon, the Hubble
deep field and both views of the stereo motorcycle) and scikit-learn (``china.jpg``,
``flower.jpg``), each taken whole and as its four quadrants and its centre (six pictures a
photograph, 84 in all), letterboxed on white as products are.

Overlap with the ``photos`` development set, said plainly: its items are cells of a 6 x 6 grid
of thirteen of these photographs, so the calibration pictures show the same scenes, but none is
one of its crops (the smallest here is a quarter of a photograph, nine of its cells, at another
scale); the ``sellers`` set (drawn designs) shares nothing with them. Only activation ranges are
taken from them (a min and a max per tensor), nothing is fitted to an item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "retina", "immunohistochemistry", "camera", "coins", "moon",
          "hubble_deep_field")
SAMPLE_IMAGES = ("china.jpg", "flower.jpg")
# (x0, y0, x1, y1) as fractions of the photograph
CROPS = ((0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.5, 0.5), (0.5, 0.0, 1.0, 0.5), (0.0, 0.5, 0.5, 1.0),
         (0.5, 0.5, 1.0, 1.0), (0.2, 0.2, 0.8, 0.8))


def photographs() -> list[tuple[str, np.ndarray]]:
    """The fourteen photographs, by name, as RGB or grey uint8 arrays, in a fixed order."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    photos = [(name, getattr(data, name)()) for name in PHOTOS]
    left, right, _ = data.stereo_motorcycle()
    photos += [("motorcycle_left", left), ("motorcycle_right", right)]
    photos += [(name.removesuffix(".jpg"), np.asarray(load_sample_image(name))) for name in SAMPLE_IMAGES]
    return photos


def crop_box(shape: tuple[int, ...], fractions: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` of ``fractions`` of an image of ``shape`` (height first)."""
    h, w = shape[:2]
    x0, y0, x1, y1 = fractions
    return round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)


def pictures() -> list[Image.Image]:
    """The 84 calibration pictures (each photograph's crops in :data:`CROPS` order), as RGB images."""
    out = []
    for _, photo in photographs():
        image = Image.fromarray(photo).convert("RGB")
        out += [image.crop(crop_box(photo.shape, crop)) for crop in CROPS]
    return out


def batches(preprocess: Callable[[list[Image.Image]], np.ndarray], batch_size: int = 12) -> list[np.ndarray]:
    """The calibration pictures through ``preprocess`` (letterbox and normalise), in batches."""
    images = pictures()
    return [preprocess(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]

"""Augmented views of a catalog image, for fitting the self-supervised adaptation.

:func:`augmented_view` makes one random view of an image: a random resized crop (a 55-100%
share of the area, aspect 3:4..4:3), a colour jitter (brightness, contrast, saturation), now
and then grey, and now and then a round trip through a lower resolution. Vectors of an image
and of its view should land together; :func:`indexer.pca.adaptation` learns a projection
that makes them.

On purpose this is a different family from the development sets' "sellers" (no new
backgrounds, rotation, perspective, occlusion, watermarks or JPEG artefacts), so what the
adaptation learns is measured on changes it was not fitted to.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance


def augmented_view(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    image = image.convert("RGB")
    w, h = image.size
    for _ in range(10):
        area = w * h * rng.uniform(0.55, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = int(round(np.sqrt(area * aspect))), int(round(np.sqrt(area / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            image = image.crop((left, top, left + cw, top + ch))
            break
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.7, 1.3))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.6, 1.4))
    if rng.random() < 0.15:
        image = image.convert("L").convert("RGB")
    if rng.random() < 0.3:
        small = max(24, int(min(image.size) * rng.uniform(0.3, 0.6)))
        scale = small / min(image.size)
        size = image.size
        image = image.resize((max(1, int(size[0] * scale)), max(1, int(size[1] * scale))), Image.Resampling.BILINEAR)
        image = image.resize(size, Image.Resampling.BILINEAR)
    return image

"""Framing: the product is cut out of a plain backdrop; scenes and tight crops are left alone."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw

from indexer.framing import product_box, trim_borders
from indexer.models.options import EmbeddingOptions
from lookalike.errors import ConfigError


def _product_on(background, size=(400, 300), box=(150, 80, 250, 220), colour=(180, 30, 40)) -> Image.Image:
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    return image


@pytest.mark.parametrize("background", [(255, 255, 255), (40, 90, 200), (250, 248, 240)])
def test_a_product_on_a_plain_backdrop_is_cut_out_with_a_margin(background):
    left, top, right, bottom = product_box(_product_on(background))
    # the product is x 150..250, y 80..220: the box holds it and a margin of about 4% of 140
    assert 138 <= left < 150 and 68 <= top < 80 and 250 < right <= 262 and 220 < bottom <= 232


def test_jpeg_noise_and_a_faint_shadow_are_background():
    image = _product_on((255, 255, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 399, 5), fill=(245, 245, 245))  # faint band at the top edge
    noisy = np.asarray(image).astype(np.int16) + np.random.default_rng(0).integers(-8, 9, (300, 400, 3))
    box = product_box(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))
    assert 138 <= box[0] < 150 and 68 <= box[1] < 80


def test_a_scene_or_a_photo_that_fills_the_frame_is_left_alone():
    photo = Image.fromarray(skimage.data.chelsea())
    assert trim_borders(photo) is photo
    assert trim_borders(Image.new("RGB", (100, 100), "white")) is not None  # nothing there: left alone
    blank = Image.new("RGB", (100, 100), "white")
    assert trim_borders(blank) is blank
    speck = _product_on((255, 255, 255), box=(200, 150, 201, 151))  # a 2x2 speck is noise, not a product
    assert trim_borders(speck) is speck


def test_the_crop_comes_from_the_full_resolution_image():
    big = _product_on((255, 255, 255), size=(4000, 3000), box=(1500, 800, 2500, 2200))
    cut = trim_borders(big)
    assert 1000 < cut.size[0] < 1200 and 1400 < cut.size[1] < 1600


def test_options_name_what_changes_the_vector():
    assert EmbeddingOptions().tag == "" and EmbeddingOptions().identity("m") == "m"
    both = EmbeddingOptions(trim=True, pooling="gem", gem_p=3.0, flip=True)
    assert both.identity("efficientnet_lite0") == "efficientnet_lite0+trim+gem3+flip"
    assert EmbeddingOptions.from_record({}) == EmbeddingOptions()
    assert EmbeddingOptions.from_record({"embedding": both.as_dict()}) == both
    with pytest.raises(ConfigError, match="unknown pooling 'sum'"):
        EmbeddingOptions(pooling="sum")

"""The base class's batching and prefetching, with a tiny exact model (no network needed)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from indexer.models.base import EmbeddingModel, letterbox


class MeanColour(EmbeddingModel):
    """Embeds an image as its mean RGB colour: exact, so batching errors show."""

    name = "mean_colour"
    input_size = 8
    output_dim = 3
    weights_sha256 = "none"
    random_weights = False

    def __init__(self):
        self.preprocess_threads: set[str] = set()
        self.embed_threads: set[str] = set()

    def preprocess(self, images):
        self.preprocess_threads.add(threading.current_thread().name)
        return np.stack([np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32) for image in images])

    def embed(self, batch):
        self.embed_threads.add(threading.current_thread().name)
        return batch.mean(axis=(1, 2)).astype(np.float32)


def _items(n):
    for i in range(n):
        yield i, Image.new("RGB", (10, 10), (i, 2 * i, 3))


def test_stream_keeps_order_and_batches():
    model = MeanColour()
    out = list(model.embed_stream(_items(10), batch_size=4))
    assert [keys for keys, _ in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    vectors = np.concatenate([v for _, v in out])
    np.testing.assert_allclose(vectors, [[i, 2 * i, 3] for i in range(10)])
    assert model.preprocess_threads == {"mean_colour-prefetch"}
    assert model.embed_threads == {threading.current_thread().name}


def test_stream_reraises_a_failure_after_the_good_batches():
    def failing():
        yield from _items(5)
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for keys, _ in MeanColour().embed_stream(failing(), batch_size=2):
            seen.extend(keys)
    assert seen == [0, 1, 2, 3]


def test_stopping_early_ends_the_worker():
    stream = MeanColour().embed_stream(_items(1000), batch_size=2, prefetch=1)
    next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "mean_colour-prefetch"]


def test_empty_input():
    assert list(MeanColour().embed_stream(iter(()), batch_size=3)) == []
    assert MeanColour().embed_images([]).shape == (0, 3)


def test_letterbox_keeps_the_whole_image_on_white():
    tall = Image.new("RGB", (50, 100), (255, 0, 0))
    boxed = letterbox(tall, 20)
    assert boxed.shape == (20, 20, 3)
    np.testing.assert_array_equal(boxed[10, 10], [255, 0, 0])
    np.testing.assert_array_equal(boxed[10, 0], [255, 255, 255])

"""The load stage over several images (indexer.embedding.load_many and the Embedder): results in
order, one cache lookup per chunk, only misses decoded, downloads and decoding on the pool,
local files read without it, each failure kept to its own item."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from indexer import embedding
from indexer.cache import EmbeddingCache, image_key
from indexer.embedding import Embedder, Failed, load_many, load_one
from indexer.timing import StageTimer
from lookalike.settings import Settings


class FakeModel:
    identity = "fake"
    weights_sha256 = "cd" * 32

    def __init__(self):
        self.preprocessed = 0

    def preprocess(self, pictures):
        self.preprocessed += len(pictures)
        return np.stack([np.asarray(p, dtype=np.float32).mean(axis=(0, 1)) for p in pictures])

    def embed(self, batch):
        return np.asarray(batch, dtype=np.float32)


class CountingCache(EmbeddingCache):
    def __init__(self, root):
        super().__init__(root, fsync=False)
        self.lookups: list[list[str]] = []

    def get_many(self, model_name, weights_sha256, image_sha256s):
        self.lookups.append(list(image_sha256s))
        return super().get_many(model_name, weights_sha256, self.lookups[-1])


class RecordingPool(ThreadPoolExecutor):
    def __init__(self):
        super().__init__(max_workers=2)
        self.submitted: list[tuple] = []

    def submit(self, fn, *args, **kwargs):
        self.submitted.append((getattr(fn, "func", fn).__name__, args[:1]))
        return super().submit(fn, *args, **kwargs)


def _png(tmp_path, name: str, colour) -> bytes:
    Image.new("RGB", (4, 4), colour).save(tmp_path / name)
    return (tmp_path / name).read_bytes()


@pytest.fixture
def setup(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    model, cache = FakeModel(), CountingCache(tmp_path / "cache")
    cached = _png(tmp_path, "cached.png", (10, 20, 30))
    _png(tmp_path, "fresh.png", (200, 100, 0))
    (tmp_path / "text.png").write_text("not a picture")
    vector = np.arange(3, dtype=np.float32)
    cache.put_many(model.identity, model.weights_sha256, {image_key(cached): vector})
    return settings, model, cache, vector


def test_results_in_order_one_lookup_and_only_misses_decoded(tmp_path, setup):
    settings, model, cache, vector = setup
    refs = ["cached.png", "missing.png", "fresh.png", "text.png", "cached.png"]
    with RecordingPool() as pool:
        out = load_many(refs, tmp_path, settings, model, cache, pool=pool)
    assert len(cache.lookups) == 1 and len(cache.lookups[0]) == 4  # the missing file has no key
    np.testing.assert_array_equal(out[0][1], vector)
    assert out[0][2] is None and out[4][1] is not None
    assert out[1].reason == "missing" and out[3].reason == "not_an_image"
    sha, cached, pixels = out[2]
    assert sha == image_key((tmp_path / "fresh.png").read_bytes()) and cached is None
    np.testing.assert_allclose(pixels, [200, 100, 0])
    assert model.preprocessed == 1  # the text file failed to decode, the cached ones were not decoded
    assert [name for name, _ in pool.submitted] == ["_pixels", "_pixels"]  # local files are read here


def test_downloads_go_to_the_pool(tmp_path, setup, monkeypatch):
    settings, model, cache, vector = setup
    data = (tmp_path / "cached.png").read_bytes()
    monkeypatch.setattr(embedding.images, "fetch_bytes",
                        lambda ref, base, s: data if ref.startswith("http") else (tmp_path / ref).read_bytes())
    with RecordingPool() as pool:
        out = load_many(["http://h/a.png", "cached.png"], tmp_path, settings, model, cache, pool=pool)
    assert pool.submitted == [("_fetch", ("http://h/a.png",))]
    np.testing.assert_array_equal(out[0][1], vector)
    np.testing.assert_array_equal(out[1][1], vector)


def test_load_one_raises_its_error_and_matches_load_many(tmp_path, setup):
    settings, model, cache, _ = setup
    with pytest.raises(embedding.ImageError, match="no such file"):
        load_one("missing.png", tmp_path, settings, model, cache)
    one = load_one("fresh.png", tmp_path, settings, model, cache)
    many = load_many(["fresh.png"], tmp_path, settings, model, cache)[0]
    assert one[0] == many[0] and one[1] is None
    np.testing.assert_array_equal(one[2], many[2])


def test_the_embedder_keeps_order_across_chunks_and_reports_failures(tmp_path, setup):
    settings, model, cache, vector = setup
    settings = settings.model_copy(update={"batch_size": 2})

    class P:
        def __init__(self, i, image):
            self.id, self.image = f"p{i}", image

    refs = ["cached.png", "missing.png", "fresh.png", "cached.png", "text.png"]
    products = [P(i, r) for i, r in enumerate(refs)]
    failures: list[Failed] = []
    got = list(Embedder(model, cache, settings, StageTimer(), workers=3).run(products, tmp_path, failures.append))
    assert [p.id for p, _ in got] == ["p0", "p2", "p3"]
    np.testing.assert_array_equal(got[0][1], vector)
    np.testing.assert_allclose(got[1][1], [200, 100, 0])
    assert [(f.product.id, f.reason) for f in failures] == [("p1", "missing"), ("p4", "not_an_image")]
    assert len(cache.lookups) == 3  # one per chunk of 2

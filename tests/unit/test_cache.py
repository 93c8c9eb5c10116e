"""The embedding cache: round trips, keys, and no corrupt vector after a kill or a torn file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from indexer.cache import EmbeddingCache, image_key


def _vector(key: str, width: int = 1280) -> np.ndarray:
    seed = int(key[:8], 16)
    return np.random.default_rng(seed).standard_normal(width).astype(np.float32)


def _keys(n: int) -> list[str]:
    return [image_key(str(i).encode()) for i in range(n)]


def test_round_trip_is_exact(tmp_path):
    cache = EmbeddingCache(tmp_path, "efficientnet_lite0", "ab" * 32)
    keys = _keys(20)
    cache.put_many({k: _vector(k) for k in keys[:15]})
    found = cache.get_many(keys)
    assert set(found) == set(keys[:15])
    for k, v in found.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, _vector(k))
    assert (cache.hits, cache.misses, cache.corrupt) == (15, 5, 0)
    assert len(cache) == 15


def test_model_and_weights_are_part_of_the_key(tmp_path):
    key = _keys(1)[0]
    EmbeddingCache(tmp_path, "efficientnet_lite0", "ab" * 32).put(key, _vector(key))
    assert EmbeddingCache(tmp_path, "efficientnet_lite0", "cd" * 32).get(key) is None
    assert EmbeddingCache(tmp_path, "inception_v3", "ab" * 32).get(key) is None
    # Same 16-character prefix, different full hash: the file is found but its key differs.
    assert EmbeddingCache(tmp_path, "efficientnet_lite0", "ab" * 8 + "ef" * 24).get(key) is None


def test_overwrite_replaces_the_entry(tmp_path):
    cache = EmbeddingCache(tmp_path, "m", "ab" * 32)
    key = _keys(1)[0]
    cache.put(key, np.ones(4))
    cache.put(key, np.full(4, 2.0))
    np.testing.assert_array_equal(cache.get(key), np.full(4, 2.0, np.float32))


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # torn write
        lambda raw: raw[:-1],  # one byte short
        lambda raw: b"",  # empty file
        lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:],  # a flipped bit in the data
        lambda raw: raw + b"\0",  # trailing garbage
    ],
    ids=["half", "short", "empty", "bitflip", "trailing"],
)
def test_a_damaged_entry_is_a_miss(tmp_path, damage):
    cache = EmbeddingCache(tmp_path, "m", "ab" * 32)
    key = _keys(1)[0]
    cache.put(key, _vector(key, 64))
    path = cache.path(key)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get_many([key]) == {}
    assert cache.corrupt == 1
    cache.put(key, _vector(key, 64))  # recomputed and stored again
    np.testing.assert_array_equal(cache.get(key), _vector(key, 64))


def test_an_entry_copied_under_another_key_is_a_miss(tmp_path):
    cache = EmbeddingCache(tmp_path, "m", "ab" * 32)
    a, b = _keys(2)
    cache.put(a, _vector(a, 8))
    cache.path(b).parent.mkdir(parents=True, exist_ok=True)
    cache.path(b).write_bytes(cache.path(a).read_bytes())
    assert cache.get(b) is None


def test_rejects_bad_keys_and_shapes(tmp_path):
    cache = EmbeddingCache(tmp_path, "m", "ab" * 32)
    with pytest.raises(ValueError, match="hex"):
        cache.get("../../etc/passwd")
    with pytest.raises(ValueError, match="1-d"):
        cache.put(_keys(1)[0], np.zeros((2, 2)))


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from indexer.cache import EmbeddingCache, image_key
    cache = EmbeddingCache(sys.argv[1], "m", "ab" * 32)
    i = 0
    while True:  # until killed
        batch = {}
        for _ in range(8):
            key = image_key(str(i).encode())
            batch[key] = np.random.default_rng(int(key[:8], 16)).standard_normal(20000).astype(np.float32)
            i += 1
        cache.put_many(batch)
    """
)


def test_a_killed_writer_leaves_no_corrupt_entry(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=os.getcwd())
    cache = EmbeddingCache(tmp_path, "m", "ab" * 32)
    deadline = time.monotonic() + 60
    try:
        while len(cache) < 200:  # poll until it is well into writing
            assert writer.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer wrote too slowly"
            time.sleep(0.02)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    written = len(cache)
    keys = _keys(written + 64)  # everything it may have been writing when killed
    found = cache.get_many(keys)
    assert len(found) >= 200
    for key, vector in found.items():
        np.testing.assert_array_equal(vector, _vector(key, 20000))
    assert cache.corrupt == 0
    leftovers = cache.sweep()
    assert leftovers in (0, 1)  # at most the one file being written at the kill
    assert not list(cache.directory.glob("*/.*.tmp"))

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


M = "efficientnet_lite0"
W = "ab" * 32


def _vector(key: str, width: int = 1280) -> np.ndarray:
    seed = int(key[:8], 16)
    return np.random.default_rng(seed).standard_normal(width).astype(np.float32)


def _keys(n: int) -> list[str]:
    return [image_key(str(i).encode()) for i in range(n)]


def test_round_trip_is_exact(tmp_path):
    cache = EmbeddingCache(tmp_path)
    keys = _keys(20)
    cache.put_many(M, W, {k: _vector(k) for k in keys[:15]})
    found = cache.get_many(M, W, keys)
    assert set(found) == set(keys[:15])
    for k, v in found.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, _vector(k))
    assert (cache.hits, cache.misses, cache.corrupt) == (15, 5, 0)
    assert cache.count(M, W) == 15


def test_model_and_weights_are_part_of_the_key(tmp_path):
    key = _keys(1)[0]
    cache = EmbeddingCache(tmp_path)
    cache.put(M, W, key, _vector(key))
    assert cache.get(M, "cd" * 32, key) is None
    assert cache.get("inception_v3", W, key) is None
    # Same 16-character prefix, different full hash: the file is found but its key differs.
    assert cache.get(M, "ab" * 8 + "ef" * 24, key) is None
    assert cache.corrupt == 1
    np.testing.assert_array_equal(cache.get(M, W, key), _vector(key))


def test_overwrite_replaces_the_entry(tmp_path):
    cache = EmbeddingCache(tmp_path)
    key = _keys(1)[0]
    cache.put(M, W, key, np.ones(4))
    cache.put(M, W, key, np.full(4, 2.0))
    np.testing.assert_array_equal(cache.get(M, W, key), np.full(4, 2.0, np.float32))


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
    cache = EmbeddingCache(tmp_path)
    key = _keys(1)[0]
    cache.put(M, W, key, _vector(key, 64))
    path = cache.path(M, W, key)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get_many(M, W, [key]) == {}
    assert cache.corrupt == 1
    cache.put(M, W, key, _vector(key, 64))  # recomputed and stored again
    np.testing.assert_array_equal(cache.get(M, W, key), _vector(key, 64))


def test_an_entry_copied_under_another_key_is_a_miss(tmp_path):
    cache = EmbeddingCache(tmp_path)
    a, b = _keys(2)
    cache.put(M, W, a, _vector(a, 8))
    cache.path(M, W, b).parent.mkdir(parents=True, exist_ok=True)
    cache.path(M, W, b).write_bytes(cache.path(M, W, a).read_bytes())
    assert cache.get(M, W, b) is None


def test_rejects_bad_keys_and_shapes(tmp_path):
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(ValueError, match="hex"):
        cache.get(M, W, "../../etc/passwd")
    with pytest.raises(ValueError, match="model name"):
        cache.get("../x", W, _keys(1)[0])
    with pytest.raises(ValueError, match="1-d"):
        cache.put(M, W, _keys(1)[0], np.zeros((2, 2)))


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from indexer.cache import EmbeddingCache, image_key
    cache = EmbeddingCache(sys.argv[1])
    i = 0
    while True:  # until killed
        batch = {}
        for _ in range(8):
            key = image_key(str(i).encode())
            batch[key] = np.random.default_rng(int(key[:8], 16)).standard_normal(20000).astype(np.float32)
            i += 1
        cache.put_many("m", "ab" * 32, batch)
    """
)


def test_a_killed_writer_leaves_no_corrupt_entry(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=os.getcwd())
    cache = EmbeddingCache(tmp_path)
    deadline = time.monotonic() + 60
    try:
        while cache.count("m", W) < 200:  # poll until it is well into writing
            assert writer.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer wrote too slowly"
            time.sleep(0.02)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    written = cache.count("m", W)
    keys = _keys(written + 64)  # everything it may have been writing when killed
    found = cache.get_many("m", W, keys)
    assert len(found) >= 200
    for key, vector in found.items():
        np.testing.assert_array_equal(vector, _vector(key, 20000))
    assert cache.corrupt == 0
    leftovers = cache.sweep()
    assert leftovers in (0, 1)  # at most the one file being written at the kill
    assert not list(cache.directory("m", W).glob("*/.*.tmp"))

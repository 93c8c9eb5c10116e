"""The content-key memo (indexer.content_keys) on real files and a real SQLite file: a file is
known by its identity until anything about it changes; racy entries are not trusted; a broken
memo costs reads, never answers; and the load stage reads no image whose vector is cached."""

from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image

from indexer import embedding, images
from indexer.cache import EmbeddingCache, image_key
from indexer.content_keys import RACY_NS, ContentKeys
from indexer.embedding import load_many
from lookalike.settings import Settings

LATER = 10 * 1_000_000_000  # a clock 10 s ahead: entries recorded "long after" the files changed


def _later() -> int:
    return time.time_ns() + LATER


def _remember(keys: ContentKeys, path) -> str:
    st = os.stat(path)
    key = image_key(path.read_bytes())
    keys.remember([(str(path), st, key)])
    return key


def test_an_unchanged_file_is_known_by_its_identity(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"first picture")
    keys = ContentKeys(tmp_path / "memo.sqlite3", clock=_later)
    key = _remember(keys, f)
    again = ContentKeys(tmp_path / "memo.sqlite3")  # another job, reading what the first recorded
    assert again.known([str(f), str(tmp_path / "nowhere.jpg")]) == {str(f): key}
    relative = os.path.relpath(f)
    assert again.known([relative]) == {relative: key}  # the same file by another spelling


def test_a_rewritten_file_with_its_old_size_and_mtime_is_read_again(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"first picture")
    before = os.stat(f)
    keys = ContentKeys(tmp_path / "memo.sqlite3", clock=_later)
    _remember(keys, f)
    time.sleep(0.05)  # past the kernel's coarse clock tick, so the ctime moves
    f.write_bytes(b"other picture")  # same length
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back, as `cp -p` or rsync -t would
    assert os.stat(f).st_size == before.st_size and os.stat(f).st_mtime_ns == before.st_mtime_ns
    assert keys.known([str(f)]) == {}


def test_a_file_moved_away_and_another_moved_in_is_read_again(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.write_bytes(b"picture a")
    b.write_bytes(b"picture b")
    keys = ContentKeys(tmp_path / "memo.sqlite3", clock=_later)
    _remember(keys, a)
    os.replace(b, a)  # b's bytes under a's name: another inode
    assert keys.known([str(a)]) == {}


def test_an_entry_recorded_within_the_racy_window_is_not_trusted_until_recorded_again(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"just written")
    now = ContentKeys(tmp_path / "memo.sqlite3")  # the real clock: recorded right after the write
    _remember(now, f)
    assert now.known([str(f)]) == {}
    ctime = os.stat(f).st_ctime_ns
    later = ContentKeys(tmp_path / "memo.sqlite3", clock=lambda: ctime + RACY_NS)
    key = _remember(later, f)
    assert later.known([str(f)]) == {str(f): key}


def test_a_damaged_memo_is_left_alone_and_costs_only_reads(tmp_path, caplog):
    memo = tmp_path / "memo.sqlite3"
    memo.write_bytes(b"this is not a database" * 100)
    f = tmp_path / "a.jpg"
    f.write_bytes(b"picture")
    keys = ContentKeys(memo, clock=_later)
    _remember(keys, f)  # no error
    assert keys.known([str(f)]) == {}
    assert "cannot be used" in caplog.text
    assert memo.read_bytes().startswith(b"this is not a database")


class _Model:
    identity = "memo-test"
    weights_sha256 = "ab" * 32

    def preprocess(self, pictures):
        return np.stack([np.asarray(p, dtype=np.float32).mean(axis=(0, 1)) for p in pictures])


def test_the_load_stage_reads_no_image_whose_vector_is_cached(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data")
    for n, colour in enumerate([(10, 20, 30), (200, 100, 0)]):
        Image.new("RGB", (4, 4), colour).save(tmp_path / f"p{n}.png")
    refs = ["p0.png", "p1.png"]
    cache = EmbeddingCache(tmp_path / "cache", fsync=False)
    model = _Model()
    cached = image_key((tmp_path / "p0.png").read_bytes())
    cache.put_many(model.identity, model.weights_sha256, {cached: np.ones(3, dtype=np.float32)})
    keys = ContentKeys(tmp_path / "memo.sqlite3", clock=_later)
    reads: list[str] = []
    real = images.read_local

    def counted(path, s):
        reads.append(os.path.basename(path))
        return real(path, s)

    monkeypatch.setattr(embedding.images, "read_local", counted)
    first = load_many(refs, tmp_path, settings, model, cache, keys=keys)
    assert sorted(reads) == ["p0.png", "p1.png"]
    reads.clear()
    second = load_many(refs, tmp_path, settings, model, cache, keys=keys)
    assert reads == ["p1.png"]  # p0's vector is cached: its file is not read; p1 must be decoded
    assert [r[0] for r in second] == [r[0] for r in first]
    np.testing.assert_array_equal(second[0][1], np.ones(3, dtype=np.float32))
    assert second[1][1] is None and second[1][2] is not None

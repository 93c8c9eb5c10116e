"""Embedding cache on disk: nothing is embedded twice.

An entry is keyed by (model name, weights SHA-256, image content SHA-256). The model and
weights pick a directory, the image hash a file in it::

    <root>/<model>-<weights sha256[:16]>/<image sha256[:2]>/<image sha256>.vec

Why one small file per vector: it is the simplest layout that is safe under a kill at
any instant. Each file is written to a temporary name in its final directory, flushed,
fsynced and renamed over the target (``os.replace`` is atomic on POSIX), so a reader sees
either no entry or a whole one. A file is self-checking — magic, format version, full key,
width, the float32 data and a CRC-32 of all of it — so a short, torn or bit-flipped file
(a crash of the disk, not of us)
reads as a miss and is embedded again. Each (model, weights) directory has 256
subdirectories by the first byte of the image hash, which keeps every directory small at
100k+ entries (about 400 files each at 100k); a warm read is one ``open`` and one ``read``
per vector, thousands per second.
Leftover temporary files of a killed writer are never read and are swept by ``sweep``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"LKVC"
VERSION = 1
_HEADER = struct.Struct("<4sB32sI")  # magic, version, sha256(key), width
_CRC = struct.Struct("<I")
TEMP_SUFFIX = ".tmp"


_IMAGE_KEY = re.compile("[0-9a-f]{3,}")


def _check_image_key(image_sha256: str) -> None:
    if not isinstance(image_sha256, str) or not _IMAGE_KEY.fullmatch(image_sha256):
        raise ValueError(f"not a lowercase hex image hash: {image_sha256!r}")


def image_key(content: bytes) -> str:
    """The cache key of an image: SHA-256 of its file bytes (hex)."""
    return hashlib.sha256(content).hexdigest()


class EmbeddingCache:
    """Vectors on disk under ``root``, keyed by (model name, weights SHA-256, image SHA-256)."""

    def __init__(self, root: str | Path, *, fsync: bool = True):
        self.root = Path(root)
        self._fsync = fsync
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    def directory(self, model_name: str, weights_sha256: str) -> Path:
        if not model_name or "/" in model_name or model_name.startswith(".") or not weights_sha256:
            raise ValueError(f"a cache key needs a model name (no '/') and a weights hash, got {model_name!r}")
        if "/" in weights_sha256:
            raise ValueError(f"not a weights hash: {weights_sha256!r}")
        return self.root / f"{model_name}-{weights_sha256[:16]}"

    def path(self, model_name: str, weights_sha256: str, image_sha256: str) -> Path:
        _check_image_key(image_sha256)
        return self.directory(model_name, weights_sha256) / image_sha256[:2] / f"{image_sha256}.vec"

    @staticmethod
    def _key_digest(model_name: str, weights_sha256: str, image_sha256: str) -> bytes:
        return hashlib.sha256(f"{model_name}\0{weights_sha256}\0{image_sha256}".encode()).digest()

    @staticmethod
    def _encode(digest: bytes, vector: np.ndarray) -> bytes:
        data = np.ascontiguousarray(vector, dtype="<f4")
        if data.ndim != 1 or data.size == 0:
            raise ValueError(f"cache entries are 1-d vectors, got shape {data.shape}")
        body = _HEADER.pack(MAGIC, VERSION, digest, data.size) + data.tobytes()
        return body + _CRC.pack(zlib.crc32(body))

    @staticmethod
    def _decode(digest: bytes, raw: bytes) -> np.ndarray | None:
        """The vector in ``raw``, or None when the file is short, torn, damaged or not this key's."""
        if len(raw) < _HEADER.size + _CRC.size:
            return None
        body, (crc,) = memoryview(raw)[: -_CRC.size], _CRC.unpack_from(raw, len(raw) - _CRC.size)
        if zlib.crc32(body) != crc:
            return None
        magic, version, stored_digest, width = _HEADER.unpack_from(body)
        if magic != MAGIC or version != VERSION or stored_digest != digest:
            return None
        if len(body) != _HEADER.size + 4 * width:
            return None
        return np.frombuffer(body, dtype="<f4", offset=_HEADER.size).astype(np.float32)  # a copy of its own

    def get(self, model_name: str, weights_sha256: str, image_sha256: str) -> np.ndarray | None:
        return self.get_many(model_name, weights_sha256, [image_sha256]).get(image_sha256)

    def get_many(self, model_name: str, weights_sha256: str, image_sha256s: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``image_sha256s``; a missing or damaged entry is left out."""
        found: dict[str, np.ndarray] = {}
        directory = os.fspath(self.directory(model_name, weights_sha256))
        for key in image_sha256s:
            if key in found:
                continue
            _check_image_key(key)
            path = os.path.join(directory, key[:2], f"{key}.vec")  # what path() gives, without pathlib's cost per key
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except FileNotFoundError:
                self.misses += 1
                continue
            vector = self._decode(self._key_digest(model_name, weights_sha256, key), raw)
            if vector is None:
                self.corrupt += 1
                self.misses += 1
                log.warning("embedding cache entry %s is damaged; it will be recomputed", path)
                continue
            self.hits += 1
            found[key] = vector
        return found

    def put_many(self, model_name: str, weights_sha256: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store each vector atomically (temp file, fsync, rename); then fsync the directories."""
        touched: set[Path] = set()
        for key, vector in vectors.items():
            target = self.path(model_name, weights_sha256, key)
            payload = self._encode(self._key_digest(model_name, weights_sha256, key), vector)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{key[:16]}.", suffix=TEMP_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(payload)
                    f.flush()
                    if self._fsync:
                        os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise
            touched.add(target.parent)
        if self._fsync:
            for directory in touched:  # make the renames themselves durable
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)

    def put(self, model_name: str, weights_sha256: str, image_sha256: str, vector: np.ndarray) -> None:
        self.put_many(model_name, weights_sha256, {image_sha256: vector})

    def sweep(self) -> int:
        """Remove temporary files left by killed writers (in every model's directory)."""
        removed = 0
        if self.root.is_dir():
            for tmp in self.root.glob(f"*/*/.*{TEMP_SUFFIX}"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def count(self, model_name: str, weights_sha256: str) -> int:
        directory = self.directory(model_name, weights_sha256)
        return sum(1 for _ in directory.glob("*/*.vec")) if directory.is_dir() else 0

"""Keras InceptionV3 without its classifier: global average pooling = ``pool_3``, 2048-d.

Weights (the Keras ImageNet "notop" file) are looked for, in order, in
``settings.weights_file``, the Keras cache (``$KERAS_HOME/models``, default ``~/.keras``),
and then downloaded into that cache where the network allows. Keras publishes only the
file's MD5, so a file is accepted when its MD5 is that one; its SHA-256 is what the model
reports (and what the embedding cache and index manifests are keyed by).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from indexer.digest import file_sha256

from .base import letterbox
from .keras_base import KerasEmbeddingModel, configure_tensorflow

if TYPE_CHECKING:
    from lookalike.settings import Settings

log = logging.getLogger(__name__)

NAME = "inception_v3"
INPUT_SIZE = 299
FEATURES = 2048
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + WEIGHTS_FILE
)
WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"  # keras/src/applications/inception_v3.py


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def md5_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def check_file(path: Path) -> None:
    actual = md5_file(path)
    if actual != WEIGHTS_MD5:
        raise ModelError(
            f"{path} is not the Keras InceptionV3 notop weights file: "
            f"expected MD5 {WEIGHTS_MD5}, got {actual} (SHA-256 {file_sha256(path)})"
        )


def _download(url: str, target: Path, timeout_s: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        check_file(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def locate_weights(
    weights_file: Path | None, cache_dir: Path, url: str = WEIGHTS_URL, timeout_s: float = 30.0
) -> Path:
    """The checked weights file: the given one, else the cached one, else a download."""
    if weights_file is not None:
        weights_file = Path(weights_file)
        if not weights_file.is_file():
            raise ModelError(f"inception_v3 weights file {weights_file} does not exist")
        check_file(weights_file)
        return weights_file
    cached = cache_dir / WEIGHTS_FILE
    if cached.is_file():
        check_file(cached)
        return cached
    try:
        log.info("downloading %s", url)
        _download(url, cached, timeout_s)
        return cached
    except (OSError, ValueError) as err:
        raise ModelError(
            f"no InceptionV3 weights: not in the Keras cache ({cached}), no --weights FILE "
            f"(LOOKALIKE_WEIGHTS_FILE) given, and the download from {url} failed ({err}). "
            f"Copy {WEIGHTS_FILE} into {cache_dir}, or pass it with --weights FILE."
        ) from err


class InceptionV3(KerasEmbeddingModel):
    name = NAME
    input_size = INPUT_SIZE
    output_dim = FEATURES

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        """Letterbox to 299 x 299, scale pixels to [-1, 1] (Keras "inception" preprocessing)."""
        return np.stack([letterbox(self.frame(image), INPUT_SIZE) for image in images]) / 127.5 - 1.0


def build_network():
    import keras

    return keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3), pooling="avg"
    )


def load(settings: Settings, allow_random: bool = False, options=None) -> InceptionV3:
    configure_tensorflow()
    try:
        path = locate_weights(
            settings.weights_file, keras_cache_dir(), url=WEIGHTS_URL, timeout_s=settings.http_timeout_s
        )
    except ModelError:
        if not allow_random or settings.weights_file is not None:
            raise
        import keras

        keras.utils.set_random_seed(0)
        return InceptionV3(build_network(), "random-0", random_weights=True, options=options)
    network = build_network()
    network.load_weights(path)
    return InceptionV3(network, file_sha256(path), random_weights=False, options=options)

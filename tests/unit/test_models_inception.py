"""InceptionV3: where its weights come from, and what it outputs."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from PIL import Image

from indexer.models import inception, load_model
from lookalike.errors import ModelError
from lookalike.settings import Settings


def _closed_port_url() -> str:
    with socket.socket() as s:  # a port nobody listens on: the download is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{inception.WEIGHTS_FILE}"


def test_no_cache_no_file_no_network_names_every_option(tmp_path):
    with pytest.raises(ModelError) as err:
        inception.locate_weights(None, tmp_path / "models", url=_closed_port_url(), timeout_s=2)
    message = str(err.value)
    assert "Keras cache" in message and str(tmp_path / "models") in message
    assert "--weights FILE" in message and "download" in message
    assert not list((tmp_path / "models").glob("*.part"))  # no half-downloaded file left


def test_a_wrong_weights_file_names_both_hashes(tmp_path):
    wrong = tmp_path / "weights.h5"
    wrong.write_bytes(b"not the weights")
    with pytest.raises(ModelError) as err:
        inception.locate_weights(wrong, tmp_path)
    assert inception.WEIGHTS_MD5 in str(err.value)
    assert inception.md5_file(wrong) in str(err.value)


def test_a_missing_weights_file_is_named(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        inception.locate_weights(tmp_path / "nope.h5", tmp_path)


def test_a_wrong_file_in_the_cache_is_refused(tmp_path):
    (tmp_path / inception.WEIGHTS_FILE).write_bytes(b"truncated")
    with pytest.raises(ModelError, match="expected MD5"):
        inception.locate_weights(None, tmp_path)


def test_random_weights_are_never_a_silent_fallback_for_a_given_file(tmp_path):
    settings = Settings(data_dir=tmp_path, weights_file=tmp_path / "nope.h5")
    with pytest.raises(ModelError, match="does not exist"):
        load_model("inception_v3", settings, allow_random=True)


@pytest.mark.slow
def test_random_weights_forward_is_2048_wide(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(inception, "WEIGHTS_URL", _closed_port_url())
    settings = Settings(data_dir=tmp_path, http_timeout_s=2)
    with pytest.raises(ModelError, match="--weights FILE"):
        load_model("inception_v3", settings)
    model = load_model("inception_v3", settings, allow_random=True)
    assert model.random_weights is True and model.weights_sha256 == "random-0"
    assert (model.input_size, model.output_dim) == (299, 2048)
    images = [Image.new("RGB", (120, 80), "navy"), Image.new("L", (64, 200), 128)]
    batch = model.preprocess(images)
    assert batch.shape == (2, 299, 299, 3) and batch.min() >= -1 and batch.max() <= 1
    vectors = model.embed(batch)
    assert vectors.shape == (2, 2048) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all() and not np.allclose(vectors[0], vectors[1])

"""Bring your own model: an ONNX export of the bundled Lite0 weights gives Lite0's vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from indexer.models import load_model, open_model
from indexer.models.lite_onnx import export
from indexer.models.onnx_model import weights_identity
from indexer.models.options import EmbeddingOptions
from lookalike.errors import ModelError
from lookalike.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return export(tmp_path_factory.mktemp("onnx"))


def _photos():
    return [Image.fromarray(a) for a in (skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut())]


def test_the_onnx_export_gives_the_keras_vectors(manifest, tmp_path):
    settings = Settings(data_dir=tmp_path)
    onnx = load_model(f"onnx:{manifest}", settings)
    keras = load_model("efficientnet_lite0", settings)
    a, b = onnx.embed_images(_photos()), keras.embed_images(_photos())
    assert a.shape == (3, 1280) and onnx.output_dim == 1280
    np.testing.assert_allclose(a, b, atol=1e-4)
    trimmed = load_model(f"onnx:{manifest}", settings, options=EmbeddingOptions(trim=True, flip=True))
    assert trimmed.identity == "onnx-efficientnet_lite0-onnx+trim+flip"
    both = load_model("efficientnet_lite0", settings, options=EmbeddingOptions(trim=True, flip=True))
    np.testing.assert_allclose(trimmed.embed_images(_photos()), both.embed_images(_photos()), atol=1e-4)


def test_the_identity_is_the_file_and_its_preprocessing(manifest, tmp_path):
    model = open_model(f"onnx:{manifest}", Settings(data_dir=tmp_path))
    assert model.identity == "onnx-efficientnet_lite0-onnx" and len(model.weights_sha256) == 64
    changed = json.loads(manifest.read_text())
    changed["std"] = [1.0, 1.0, 1.0]
    other = manifest.with_name("other.json")
    other.write_text(json.dumps(changed))
    assert weights_identity(other) != model.weights_sha256


@pytest.mark.parametrize("change, message", [
    ({"layout": "CHWN"}, "layout must be NCHW or NHWC"),
    ({"file": "nowhere.onnx"}, "does not exist"),
    ({"std": [1, 0, 1]}, "std > 0"),
    ({"output": "logits"}, "has no output 'logits'; it has: features"),
])
def test_a_bad_manifest_is_refused_with_the_reason(manifest, tmp_path, change, message):
    bad = manifest.with_name(f"bad-{len(message)}.json")
    bad.write_text(json.dumps({**json.loads(manifest.read_text()), **change}))
    with pytest.raises(ModelError, match=message):
        load_model(f"onnx:{bad}", Settings(data_dir=tmp_path))

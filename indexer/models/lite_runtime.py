"""The bundled EfficientNet-Lite models run by ONNX Runtime, at float32 or quantized to int8.

The graph is :func:`indexer.models.lite_onnx.build_model` on the same weights TensorFlow
loads, ending in the last feature map, which is pooled here as the options say (average, GeM,
max; flip averaging too). It is built once and kept under ``<data dir>/models/``, named by the
model, the SHA-256 of its weights and, for int8, the quantization recipe's version
(:data:`RECIPE_VERSION`), so a changed weights file or recipe builds a new one.

int8 (the recipe): ONNX Runtime's static quantization in QDQ form, weights signed int8 per
output channel, activations unsigned int8 per tensor with their ranges (min-max) measured on
the fixed calibration photographs of :mod:`indexer.models.calibration`. Every input to the
recipe ships with a registry package and the calibration is deterministic, so any machine
builds the same quantized model, and the photo path of an index built with it embeds alike.
Bump :data:`RECIPE_VERSION` when anything here changes what the quantized graph computes.

Float32 here gives TensorFlow's vectors within 1e-4 and shares its identity; int8 has its own
(``+int8``, :class:`indexer.models.options.EmbeddingOptions`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from indexer.digest import file_sha256

from .base import EmbeddingModel
from .efficientnet_lite import FEATURES, VARIANTS, preprocess_images, weights_path
from .options import EmbeddingOptions

if TYPE_CHECKING:
    from lookalike.settings import Settings

log = logging.getLogger(__name__)

RECIPE_VERSION = 1
INPUT, OUTPUT = "image", "feature_map"


def graph_path(models_dir: Path, name: str, weights_sha256: str, quantized: bool) -> Path:
    """Where the graph of ``name`` with these weights is kept (int8: with the recipe's version)."""
    stem = f"{name}-{weights_sha256[:16]}"
    return Path(models_dir) / (f"{stem}-int8-r{RECIPE_VERSION}.onnx" if quantized else f"{stem}-fp32.onnx")


def pool(feature_map: np.ndarray, options: EmbeddingOptions) -> np.ndarray:
    """``[n, c, h, w]`` -> ``[n, c]`` as ``options.pooling`` says (TensorFlow's formulas, in numpy)."""
    x = np.asarray(feature_map, dtype=np.float32)
    if x.ndim != 4:
        raise ModelError(f"expected a feature map [n, c, h, w], got shape {x.shape}")
    if options.pooling == "max":
        return x.max(axis=(2, 3))
    if options.pooling == "gem":
        p = np.float32(options.gem_p)
        return (np.maximum(x, np.float32(1e-6)) ** p).mean(axis=(2, 3)) ** (np.float32(1.0) / p)
    return x.mean(axis=(2, 3))


def _atomic(path: Path, write) -> None:
    """``write(tmp)`` then rename onto ``path``: two processes building at once never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def float_graph(models_dir: Path, name: str, weights: Path, weights_sha256: str) -> Path:
    """The float32 graph file, built from ``weights`` the first time."""
    path = graph_path(models_dir, name, weights_sha256, quantized=False)
    if not path.is_file():
        import onnx

        from .lite_onnx import build_model
        from .torch_pickle import load_state_dict

        log.info("building the ONNX graph of %s into %s", name, path)
        proto = build_model(name, load_state_dict(weights), pooled=False)
        _atomic(path, lambda tmp: onnx.save(proto, str(tmp)))
    return path


class _Calibration:
    """onnxruntime's CalibrationDataReader over the calibration batches (NCHW)."""

    def __init__(self, batches: list[np.ndarray]):
        self._batches = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT: np.ascontiguousarray(batch.transpose(0, 3, 1, 2))}


def int8_graph(models_dir: Path, name: str, weights: Path, weights_sha256: str) -> Path:
    """The int8 graph file, quantized from the float32 one on the calibration photographs the first time."""
    path = graph_path(models_dir, name, weights_sha256, quantized=True)
    if path.is_file():
        return path
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from . import calibration

    source = float_graph(models_dir, name, weights, weights_sha256)
    size = VARIANTS[name][2]
    batches = calibration.batches(lambda images: preprocess_images(images, size))
    log.info("quantizing %s to int8 on %d calibration pictures into %s", name, sum(map(len, batches)), path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)

        def write(out: Path) -> None:
            quantize_static(str(prepared), str(out), _Calibration(batches), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=CalibrationMethod.MinMax)

        _atomic(path, write)
    return path


class LiteOnnxModel(EmbeddingModel):
    """EfficientNet-Lite in ONNX Runtime (float32 or int8), preprocessing as the TensorFlow model does."""

    output_dim = FEATURES
    random_weights = False

    def __init__(self, name: str, graph: Path, weights_sha256: str, options: EmbeddingOptions):
        import onnxruntime

        from lookalike.machine import available_cpus

        self.name = name
        self.input_size = VARIANTS[name][2]
        self.weights_sha256 = weights_sha256
        self.options = options
        self.graph = Path(graph)
        self.graph_sha256 = file_sha256(self.graph)
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = available_cpus()
        try:
            self._session = onnxruntime.InferenceSession(str(graph), session_options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"the ONNX graph {graph} of {name} cannot be loaded ({err}); delete it to rebuild it") from err

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        return preprocess_images([self.frame(image) for image in images], self.input_size)

    def _pooled(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        return pool(self._session.run([OUTPUT], {INPUT: x})[0], self.options)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        batch = self.checked_batch(batch)
        if len(batch) == 0:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        y = self._pooled(batch)
        if self.options.flip:
            y = 0.5 * (y + self._pooled(batch[:, :, ::-1]))
        return y.astype(np.float32, copy=False)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "runtime": self.options.runtime, "graph": self.graph.name,
                "graph_sha256": self.graph_sha256}


def load_variant(name: str, settings: Settings, allow_random: bool = False,
                 options: EmbeddingOptions | None = None) -> LiteOnnxModel:
    """``name`` in ONNX Runtime as ``options.runtime`` says (``onnx`` or ``onnx-int8``)."""
    options = options or EmbeddingOptions(runtime="onnx")
    try:
        weights = Path(settings.weights_file) if settings.weights_file else weights_path(name)
    except ModelError as err:
        raise ModelError(f"the {options.runtime} runtime builds {name}'s graph from its pretrained weights: {err}") from err
    if not weights.is_file():
        raise ModelError(f"{name} weights file {weights} does not exist")
    sha = file_sha256(weights)
    models_dir = settings.data_dir / "models"
    build = int8_graph if options.quantized else float_graph
    return LiteOnnxModel(name, build(models_dir, name, weights, sha), sha, options)

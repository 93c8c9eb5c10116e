"""Bring your own model: any ONNX image network, run with onnxruntime, described by a manifest.

A team plugs in CLIP's image tower, DINOv2 or its own fine-tuned network by exporting it to
ONNX and writing a small JSON manifest next to it::

    {"name": "dinov2-small", "file": "dinov2_small.onnx", "input_size": 224,
     "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
     "layout": "NCHW", "output": "pooler_output", "pooling": "none"}

``mean``/``std`` are per RGB channel in pixel units (0..255); ``layout`` is the input's
(``NCHW`` or ``NHWC``); ``output`` names the graph output to use (default: the first);
``pooling`` is ``none`` when that output is already one vector per image, ``avg`` when it is
a feature map in ``layout`` to be averaged over space. Images are letterboxed to
``input_size`` like the built-in models (and framed and flipped as the embedding options say).

The model is ``--model onnx:/path/to/manifest.json``. Its ``weights_sha256`` is the SHA-256
of the ONNX file together with the manifest's preprocessing, so the embedding cache key, the
PCA manifest and the index record change whenever either does; the photo path reloads the
model from the path in the index record and refuses a file that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lookalike.errors import ModelError

from indexer.digest import file_sha256

from .base import EmbeddingModel, letterbox
from .options import EmbeddingOptions

PREFIX = "onnx:"
LAYOUTS = ("NCHW", "NHWC")
_PREPROCESSING = ("input_size", "mean", "std", "layout", "output", "pooling")


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest at ``path``, checked, with ``file`` resolved next to it."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"ONNX model manifest {path} cannot be read: {err}") from err
    if not isinstance(manifest, dict):
        raise ModelError(f"ONNX model manifest {path} must be a JSON object")
    missing = [k for k in ("name", "file", "input_size") if k not in manifest]
    if missing:
        raise ModelError(f"ONNX model manifest {path} lacks {', '.join(missing)}")
    manifest = {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "layout": "NCHW", "output": None,
                "pooling": "none", **manifest}
    if manifest["layout"] not in LAYOUTS:
        raise ModelError(f"ONNX manifest {path}: layout must be NCHW or NHWC, got {manifest['layout']!r}")
    if manifest["pooling"] not in ("none", "avg"):
        raise ModelError(f"ONNX manifest {path}: pooling must be none or avg, got {manifest['pooling']!r}")
    if len(manifest["mean"]) != 3 or len(manifest["std"]) != 3 or min(manifest["std"]) <= 0:
        raise ModelError(f"ONNX manifest {path}: mean and std need 3 values each, std > 0")
    if not isinstance(manifest["input_size"], int) or not 16 <= manifest["input_size"] <= 1024:
        raise ModelError(f"ONNX manifest {path}: input_size must be an integer in 16..1024")
    file = Path(manifest["file"])
    manifest["file"] = str(file if file.is_absolute() else (path.parent / file).resolve())
    if not Path(manifest["file"]).is_file():
        raise ModelError(f"ONNX manifest {path}: model file {manifest['file']} does not exist")
    return manifest


def weights_identity(manifest_path: str | Path, settings=None) -> str:
    """SHA-256 of the ONNX file and the manifest's preprocessing (what decides the vectors)."""
    manifest = read_manifest(manifest_path)
    preprocessing = json.dumps({k: manifest[k] for k in _PREPROCESSING}, sort_keys=True)
    return hashlib.sha256(f"{file_sha256(manifest['file'])}\0{preprocessing}".encode()).hexdigest()


class OnnxEmbeddingModel(EmbeddingModel):
    random_weights = False

    def __init__(self, manifest_path: str | Path, options: EmbeddingOptions | None = None):
        import onnxruntime

        from lookalike.machine import available_cpus

        self.manifest_path = str(Path(manifest_path).resolve())
        self.manifest = read_manifest(self.manifest_path)
        self.options = options or EmbeddingOptions()
        if self.options.pooling != "avg":
            raise ModelError("an ONNX model pools as its manifest says; the pooling option is not available")
        if self.options.quantized:
            raise ModelError("an ONNX model of your own runs as its file says; the onnx-int8 runtime is for the "
                             "bundled EfficientNet-Lite models (quantize your file yourself)")
        self.name = PREFIX + self.manifest_path
        self.input_size = self.manifest["input_size"]
        self.weights_sha256 = weights_identity(self.manifest_path)
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = available_cpus()
        try:
            self._session = onnxruntime.InferenceSession(self.manifest["file"], session_options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"ONNX model {self.manifest['file']} cannot be loaded: {err}") from err
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        self._output = self.manifest["output"] or outputs[0]
        if self._output not in outputs:
            raise ModelError(f"ONNX model has no output {self._output!r}; it has: {', '.join(outputs)}")
        self._lock = threading.Lock()
        size = self.input_size
        self.output_dim = int(self._run(np.zeros((1, size, size, 3), np.float32)).shape[1])

    @property
    def identity(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(self.manifest["name"])).strip("-.") or "model"
        return self.options.identity(f"onnx-{slug}")

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        batch = np.stack([letterbox(self.frame(image), self.input_size) for image in images])
        return (batch - np.asarray(self.manifest["mean"], np.float32)) / np.asarray(self.manifest["std"], np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        x = batch.transpose(0, 3, 1, 2) if self.manifest["layout"] == "NCHW" else batch
        out = self._session.run([self._output], {self._input: np.ascontiguousarray(x, dtype=np.float32)})[0]
        if self.manifest["pooling"] == "avg":
            out = out.mean(axis=(2, 3) if self.manifest["layout"] == "NCHW" else (1, 2))
        if out.ndim != 2:
            raise ModelError(f"ONNX output {self._output!r} has shape {out.shape}: set pooling to avg for a feature map")
        return out.astype(np.float32, copy=False)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        batch = self.checked_batch(batch)
        if len(batch) == 0:
            return np.zeros((0, self.output_dim), dtype=np.float32)
        y = self._run(batch)
        if self.options.flip:
            y = 0.5 * (y + self._run(batch[:, :, ::-1]))
        return y

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "manifest": self.manifest_path}


def load(manifest_path: str, settings, allow_random: bool = False, options: EmbeddingOptions | None = None):
    return OnnxEmbeddingModel(manifest_path, options)

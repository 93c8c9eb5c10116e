"""The models Lookalike embeds with: each name mapped to the factory that builds it.

Adding a model is a module in this package with ``load(settings, allow_random)`` (and,
when its pretrained weights are a local file, ``weights_identity(settings)`` so it can be
opened lazily) plus one entry in :data:`MODELS`. Importing a model module must not import
TensorFlow; building a model does.

Random weights exist only for unit tests: :func:`load_model` builds them only when the
caller passes ``allow_random=True`` (no CLI path does), and such a model says so in
``random_weights`` so an index built with it is marked and warned about.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lookalike.errors import ModelError

from . import efficientnet_lite, inception, lite_runtime, onnx_model
from .base import EmbeddingModel
from .lazy import LazyModel
from .options import AUTO, EmbeddingOptions
from .tf_import import quiet_start_up

if TYPE_CHECKING:
    from lookalike.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFactory:
    """How to build one model: ``load`` the network, and ``weights_identity`` (optional)
    to name its pretrained weights' SHA-256 without building it (None: no such file)."""

    load: Callable[[Settings, bool, EmbeddingOptions], EmbeddingModel]
    weights_identity: Callable[[Settings], str | None] | None = None


def _load_lite(name: str, settings: Settings, allow_random: bool, options: EmbeddingOptions) -> EmbeddingModel:
    """EfficientNet-Lite in the runtime ``options.runtime`` names (TensorFlow, or ONNX Runtime float32 / int8).

    ``auto``: ONNX Runtime at float32, TensorFlow's vectors 1.3x as fast on this project's CPUs
    (BENCHMARKS.md, embedding throughput); TensorFlow when ONNX Runtime cannot run it here (no
    pretrained weights to build its graph from, a graph that does not load), said in the log.
    """
    if options.runtime == AUTO:
        try:
            return lite_runtime.load_variant(name, settings, allow_random, replace(options, runtime="onnx"))
        except ModelError as err:
            log.warning("%s runs in TensorFlow: ONNX Runtime cannot run it here (%s)", name, err)
            options = replace(options, runtime="tensorflow")
    if options.runtime == "tensorflow":
        return efficientnet_lite.load_variant(name, settings, allow_random, options)
    return lite_runtime.load_variant(name, settings, allow_random, options)


def _tensorflow_only(name: str, load: Callable) -> Callable:
    def checked(settings: Settings, allow_random: bool, options: EmbeddingOptions) -> EmbeddingModel:
        if options.runtime not in ("tensorflow", AUTO):
            raise ModelError(f"{name} runs in TensorFlow only; the {options.runtime} runtime is for the "
                             "EfficientNet-Lite models (LOOKALIKE_MODEL_RUNTIME=tensorflow, or --runtime tensorflow)")
        return load(settings, allow_random, replace(options, runtime="tensorflow"))
    return checked


def _lite(name: str) -> ModelFactory:
    return ModelFactory(functools.partial(_load_lite, name),
                        functools.partial(efficientnet_lite.weights_identity, name=name))


MODELS: dict[str, ModelFactory] = {
    **{name: _lite(name) for name in efficientnet_lite.VARIANTS},
    inception.NAME: ModelFactory(_tensorflow_only(inception.NAME, inception.load)),
}

# the models a runtime other than TensorFlow can run (an index's float32 runtime may change on them)
RUNTIME_MODELS = tuple(efficientnet_lite.VARIANTS)

MODEL_NAMES = tuple(MODELS)


def _factory(name: str) -> ModelFactory:
    if name.startswith(onnx_model.PREFIX):  # bring your own model: onnx:/path/to/manifest.json
        path = name[len(onnx_model.PREFIX):]
        return ModelFactory(functools.partial(onnx_model.load, path))  # loads in a moment: never lazy
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}, "
                         "or onnx:MANIFEST.json")
    return MODELS[name]


def load_model(name: str, settings: Settings, *, allow_random: bool = False,
               options: EmbeddingOptions | None = None) -> EmbeddingModel:
    """Build the model ``name`` with its pretrained weights (or random ones, tests only),
    embedding with ``options`` (framing, pooling, flip; none by default)."""
    with quiet_start_up():  # TensorFlow probes CUDA on a model's first build, loudly
        model = _factory(name).load(settings, allow_random, options or EmbeddingOptions())
    if model.random_weights:
        log.warning("model %s uses RANDOM weights: for tests only, its vectors mean nothing", name)
    return model


def open_model(name: str, settings: Settings, *, allow_random: bool = False,
               options: EmbeddingOptions | None = None) -> EmbeddingModel | LazyModel:
    """A model ready to identify itself; its network is built on first use when that is cheaper.

    Models whose pretrained weights are a local file (``weights_identity``) are opened lazily;
    the others (random weights, weights still to download) are loaded at once.
    """
    identify = _factory(name).weights_identity
    sha = identify(settings) if identify is not None else None
    if sha is None:
        return load_model(name, settings, allow_random=allow_random, options=options)
    build = functools.partial(load_model, name, settings, allow_random=allow_random, options=options)
    return LazyModel(name, build, weights_sha256=sha, options=options)

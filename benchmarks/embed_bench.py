"""Section 'embedding': images/s per model against the matrix-multiply rate TensorFlow reaches here.

* ``matmul``: ``tf.matmul`` of two n x n float32 matrices (2 n^3 FLOP each) in the same
  process, with the same thread pools the models use: the machine's practical peak for
  dense float32 work through TensorFlow.
* Per model: FLOP per image counted from its Keras layers (2 x multiply-adds of every
  Conv2D, DepthwiseConv2D and Dense; batch norm and activations are not counted, they are
  a few percent), images/s of the network alone at batch 32 on already-preprocessed
  batches, and images/s end to end from decoded PIL images (letterbox + normalise + network,
  the model's ``embed_stream`` overlapping preprocessing with inference).
* ``efficiency`` = (images/s x FLOP/image) / matmul FLOP/s: how close inference runs to
  the machine's dense limit.
* Runtimes (rows ``embedding_runtime``): EfficientNet-Lite0 in TensorFlow, ONNX Runtime at
  float32 and ONNX Runtime int8 (``LOOKALIKE_MODEL_RUNTIME``), the same preprocessed batch of
  demo images, interleaved round by round (TF, ORT fp32, ORT int8, TF, ...) so the machine's
  load falls on all three alike; images/s is the median over rounds, ``speedup`` the median of
  the per-round ratios to TensorFlow; with the largest difference of each runtime's vectors from
  TensorFlow's and their cosine to them (int8 is a vector space of its own: its quality is
  measured on the development sets, :mod:`benchmarks.quality_bench`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from lookalike.settings import Settings

log = logging.getLogger(__name__)
BATCH = 32


def matmul_gflops(n: int = 2048, seconds: float = 3.0) -> float:
    import tensorflow as tf

    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)
    mm = tf.function(lambda x, y: tf.matmul(x, y))
    mm(a, b).numpy()  # trace and warm up
    reps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mm(a, b).numpy()
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def keras_flops(network) -> int:
    """2 x multiply-adds of the conv and dense layers of a built Keras model, for one image."""
    import keras

    total = 0

    def walk(layer):
        nonlocal total
        for sub in getattr(layer, "layers", []) or []:
            walk(sub)
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * c * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            total += 2 * h * w * cout * kh * kw * cin // max(1, getattr(layer, "groups", 1))
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units

    for layer in network.layers:
        walk(layer)
    return int(total)


def _images(catalog: Path, n: int):
    import json

    from PIL import Image

    out = []
    with open(catalog) as f:
        for line in f:
            rec = json.loads(line)
            with Image.open(catalog.parent / rec["image"]) as im:
                out.append(im.convert("RGB"))
            if len(out) == n:
                break
    return out


def runtimes(settings: Settings, images, *, model: str = "efficientnet_lite0", rounds: int = 5) -> list[dict]:
    """TensorFlow, ONNX Runtime float32 and int8 on the same batch, interleaved (see the module's docstring)."""
    from indexer.models import load_model
    from indexer.models.options import RUNTIMES, EmbeddingOptions

    t0 = time.perf_counter()
    models = {rt: load_model(model, settings, options=EmbeddingOptions(runtime=rt)) for rt in RUNTIMES}
    log.info("%s in %s loaded (the ONNX graphs built or read from %s) in %.0f s", model, ", ".join(RUNTIMES),
             settings.data_dir / "models", time.perf_counter() - t0)
    batch = models["tensorflow"].preprocess(images[:BATCH])
    vectors = {rt: m.embed(batch) for rt, m in models.items()}  # warm up; the vectors to compare
    seconds: dict[str, list[float]] = {rt: [] for rt in RUNTIMES}
    for _ in range(rounds):
        for rt, m in models.items():
            t0 = time.perf_counter()
            m.embed(batch)
            seconds[rt].append(time.perf_counter() - t0)
    ref = vectors["tensorflow"]
    rows = []
    for rt in RUNTIMES:
        v = vectors[rt]
        cos = (v * ref).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(ref, axis=1)
        rows.append({"section": "embedding_runtime", "what": rt, "model": models[rt].identity, "batch": len(batch),
                     "rounds": rounds, "images_per_s": float(len(batch) / np.median(seconds[rt])),
                     "images_per_s_rounds": [len(batch) / t for t in seconds[rt]],
                     "speedup": float(np.median(np.array(seconds["tensorflow"]) / np.array(seconds[rt]))),
                     "max_abs_diff": float(np.abs(v - ref).max()), "cosine_mean": float(cos.mean()),
                     "cosine_min": float(cos.min())})
        log.info("%s %s: %.1f images/s, %.2fx TensorFlow, cosine to TF %.4f (min %.4f)", model, rt,
                 rows[-1]["images_per_s"], rows[-1]["speedup"], cos.mean(), cos.min())
    return rows


def run(settings: Settings, catalog: Path, *, models=("efficientnet_lite0", "inception_v3"), batches: int = 4,
        matmul_s: float = 3.0, runtime_rounds: int = 5) -> list[dict]:
    from indexer.models import load_model
    from indexer.models.keras_base import configure_tensorflow

    configure_tensorflow()
    rows = []
    # measured before and after the models; the best of the two is the reference (a busy
    # machine only ever makes a measurement slower)
    peak = matmul_gflops(seconds=matmul_s)
    log.info("tf.matmul: %.1f GFLOP/s", peak)
    images = _images(catalog, BATCH * batches)
    for name in models:
        model = load_model(name, settings, allow_random=True)
        flops = keras_flops(model.network)
        batch = model.preprocess(images[:BATCH])
        model.embed(batch)  # trace + warm up
        t0 = time.perf_counter()
        for _ in range(batches):
            model.embed(batch)
        net_ips = BATCH * batches / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        n = sum(len(keys) for keys, _ in model.embed_stream(enumerate(images), BATCH))
        e2e_ips = n / (time.perf_counter() - t0)
        achieved = net_ips * flops / 1e9
        rows.append({"section": "embedding", "what": name, "random_weights": model.random_weights,
                     "gflop_per_image": flops / 1e9, "images_per_s": net_ips, "images_per_s_e2e": e2e_ips,
                     "achieved_gflops": achieved, "matmul_gflops": peak, "efficiency": achieved / peak,
                     "output_dim": model.output_dim, "batch": BATCH})
        log.info("%s: %.1f images/s (%.2f GFLOP/image, %.0f%% of matmul)", name, net_ips, flops / 1e9,
                 100 * achieved / peak)
        del model
    again = matmul_gflops(seconds=matmul_s)
    best = max(peak, again)
    for r in rows:
        r["matmul_gflops"] = best
        r["efficiency"] = r["achieved_gflops"] / best
    rows.insert(0, {"section": "embedding", "what": "tf.matmul 2048x2048 float32", "gflops": best,
                    "gflops_before": peak, "gflops_after": again})
    log.info("tf.matmul again: %.1f GFLOP/s", again)
    try:
        rows += runtimes(settings, images, rounds=runtime_rounds)
    except Exception as err:  # noqa: BLE001 -- e.g. no pretrained weights: the ONNX runtimes need them
        log.exception("the runtime comparison failed")
        rows.append({"section": "embedding_runtime_error", "error": str(err)})
    return rows

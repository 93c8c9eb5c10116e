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


def run(settings: Settings, catalog: Path, *, models=("efficientnet_lite0", "inception_v3"), batches: int = 4,
        matmul_s: float = 3.0) -> list[dict]:
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
    return rows

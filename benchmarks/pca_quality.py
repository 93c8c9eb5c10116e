"""Section 'pca': what reducing the width costs, on synthetic and on real embeddings.

* Synthetic: overlap@10 between each query's 10 nearest documents in the reduced space
  and in the full 2048-d space (centred, normalised), per index size and width.
* Real: the demo catalog (``indexer.demo_catalog``, designs drawn with Pillow, several
  variants per design sharing a ``group``) embedded with efficientnet_lite0 and its real
  ImageNet weights (1280-d), PCA fitted on those embeddings (scikit-learn, L2-normalised
  output, as the indexer does) to each width; precision@10 = the share of each product's 10
  nearest other products that are variants of its own design, and overlap@10 of those 10
  with the 10 found with the raw 1280-d vectors. The embeddings are cached
  on disk (keyed by catalog size, seed and weights hash), so a rerun does not embed again.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from benchmarks.data import Dataset, l2_normalise
from benchmarks.metrics import exact_topk, overlap_at_k, precision_of_groups
from lookalike.settings import Settings

log = logging.getLogger(__name__)
K = 10
REAL_WIDTHS = (1024, 512, 256, 128, 64)


def synthetic_overlap(ds: Dataset, gt_cache: dict, *, max_queries: int = 1000) -> list[dict]:
    rows = []
    for size in ds.spec.sizes:
        full = ds.full_neighbours(size)[:max_queries, :K]
        for width in ds.spec.widths:
            cached = gt_cache.get((size, width), {}).get(1.0)
            if cached is None:
                cached = exact_topk(ds.queries(width)[:max_queries], ds.vectors(width, size), K)[0]
            rows.append({"section": "pca_synthetic", "size": size, "dims": width,
                         "overlap10": overlap_at_k(cached[: len(full)], full, K), "queries": len(full),
                         "explained_variance": ds.meta["explained_variance"][str(width)]})
            log.info("pca overlap n=%d d=%d: %.3f", size, width, rows[-1]["overlap10"])
    return rows


def demo_embeddings(settings: Settings, work_dir: Path, *, count: int, seed: int = 0,
                    model_name: str = "efficientnet_lite0") -> tuple[np.ndarray, np.ndarray, dict]:
    """Embeddings and group ids of the demo catalog (generated and embedded once, then cached)."""
    from indexer.models import load_model

    work_dir.mkdir(parents=True, exist_ok=True)
    catalog = demo_catalog(work_dir, count, seed)
    model = load_model(model_name, settings)
    cache = work_dir / f"emb-{model_name}-{model.weights_sha256[:12]}-{count}-{seed}.npz"
    records = [json.loads(line) for line in catalog.read_text().splitlines() if line.strip()]
    groups = np.array([str(r.get("group") or r["id"]) for r in records])
    info = {"catalog": str(catalog), "products": len(records), "model": model_name,
            "weights_sha256": model.weights_sha256, "groups": int(len(set(groups.tolist())))}
    if cache.exists():
        return np.load(cache)["x"], groups, {**info, "embed_s": None}
    from_indexer = _from_indexer_cache(settings, model, catalog, records)
    if from_indexer is not None:
        np.savez(cache, x=from_indexer)
        return from_indexer, groups, {**info, "embed_s": None, "source": "indexer cache"}
    from PIL import Image

    def items():
        for i, r in enumerate(records):
            with Image.open(catalog.parent / r["image"]) as im:
                yield i, im.convert("RGB")

    t0 = time.perf_counter()
    out = np.zeros((len(records), model.output_dim), np.float32)
    for keys, vecs in model.embed_stream(items(), settings.batch_size):
        out[keys] = vecs
    info["embed_s"] = time.perf_counter() - t0
    np.savez(cache, x=out)
    return out, groups, info


def _from_indexer_cache(settings: Settings, model, catalog: Path, records: list[dict]) -> np.ndarray | None:
    """The vectors the reindex job cached for these images (same model, weights), if all are there."""
    from indexer.cache import EmbeddingCache, image_key

    keys = [image_key((catalog.parent / r["image"]).read_bytes()) for r in records]
    found = EmbeddingCache(settings.cache_dir).get_many(model.name, model.weights_sha256, keys)
    if len(found) < len(set(keys)):
        return None
    return np.stack([found[k] for k in keys]).astype(np.float32)


def demo_catalog(work_dir: Path, count: int, seed: int = 0) -> Path:
    from indexer.demo_catalog import generate

    catalog = work_dir / f"demo-{count}-{seed}" / "catalog.jsonl"
    if not catalog.exists():
        t0 = time.perf_counter()
        catalog = generate(catalog.parent, count, seed)
        log.info("demo catalog of %d products generated in %.1f s", count, time.perf_counter() - t0)
    return catalog


def real_precision(settings: Settings, work_dir: Path, *, count: int) -> list[dict]:
    from sklearn.decomposition import PCA

    x, groups, info = demo_embeddings(settings, work_dir, count=count)
    ids = np.arange(len(x))
    rows = []
    variants = np.bincount(np.unique(groups, return_inverse=True)[1])
    ceiling = float(np.mean(np.minimum(variants[np.unique(groups, return_inverse=True)[1]] - 1, K)) / K)
    widths = [("raw", x.shape[1])] + [(str(w), w) for w in REAL_WIDTHS if w < min(x.shape)]
    raw_nn = None
    for label, w in widths:
        if label == "raw":
            v = l2_normalise(x)
            ev = 1.0
        else:
            pca = PCA(n_components=w, svd_solver="full", random_state=0).fit(x)
            v = l2_normalise(pca.transform(x))
            ev = float(pca.explained_variance_ratio_.sum())
        nn = exact_topk(v, v, K + 1)[0]
        p = precision_of_groups(nn, groups, ids, K)
        others = np.array([[j for j in row if j != i][:K] for i, row in enumerate(nn)])
        if raw_nn is None:
            raw_nn = others
        rows.append({"section": "pca_real", "dims": label, "width": w, "precision10": p, "explained_variance": ev,
                     "overlap10_raw": overlap_at_k(others, raw_nn, K),
                     "ceiling": ceiling, **{k: info[k] for k in ("products", "groups", "model")},
                     "embed_s": info.get("embed_s")})
        log.info("demo catalog precision@10 at %s: %.3f", label, p)
    return rows

"""The measuring loop for vector options: embed each development set once per
(model, framing, pooling), then try post-processing, widths, ensembles and the adaptation
in numpy, with the harness's metric definitions (:mod:`quality.metrics`).

    python -m benchmarks.vector_options CATALOG.jsonl [CATALOG.jsonl ...] [--out results.json]

Raw features are cached under ``var/loop/features`` (one ``.npy`` per set and model identity),
so a second run embeds nothing. The PCA (and the adaptation) is fitted on each set itself, as
``lookalike index`` fits it on the catalog. Each query asks for its 10 nearest other images;
relevant are the other renderings of its item; ``source rank-1`` restricts the candidates to
one other source (the harness's "rank-1 under a filter").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from indexer.pca import VectorReducer
from quality.metrics import summarize

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "var" / "loop" / "features"


def read_set(catalog: Path) -> list[dict]:
    return [json.loads(line) for line in catalog.read_text().splitlines() if line.strip()]


def features(catalog: Path, model_name: str, *, trim=False, pooling="avg", flip=False, views=0) -> tuple[np.ndarray, float]:
    """Raw model features of every image of ``catalog`` (``views > 0``: of its augmented view
    number ``views``), and the images/s it took (0 when cached)."""
    from indexer.models.options import EmbeddingOptions

    options = EmbeddingOptions(trim=trim, pooling=pooling, flip=flip)
    name = f"{catalog.parent.name}-{options.identity(model_name)}" + (f"-view{views}" if views else "")
    path = FEATURES / f"{name}.npy"
    if path.exists():
        return np.load(path), json.loads(path.with_suffix(".json").read_text())["images_per_s"]
    from PIL import Image

    from indexer.augment import augmented_view
    from indexer.models import load_model
    from lookalike.settings import Settings

    model = load_model(model_name, Settings(), options=options)
    rows = read_set(catalog)
    started = time.perf_counter()
    out = []
    for start in range(0, len(rows), 32):
        images = []
        for i, row in enumerate(rows[start:start + 32], start):
            image = Image.open(catalog.parent / row["image"]).convert("RGB")
            if views:
                image = augmented_view(image, np.random.default_rng([views, i]))
            images.append(image)
        out.append(model.embed_images(images))
    x = np.concatenate(out).astype(np.float32)
    rate = len(rows) / (time.perf_counter() - started)
    FEATURES.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    path.with_suffix(".json").write_text(json.dumps({"images_per_s": rate}))
    return x, rate


def evaluate(vectors: np.ndarray, rows: list[dict], k: int = 10) -> dict:
    """recall@k, mAP@k and rank-1 over every query, and rank-1 under each other source."""
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    items = np.array([r["item"] for r in rows])
    sources = np.array([r["source"] for r in rows])
    order = np.argsort(-sims, axis=1)[:, :k]
    results = []
    for q in range(len(rows)):
        relevant = set(np.flatnonzero(items == items[q])) - {q}
        results.append(([int(j) for j in order[q]], relevant))
    s = summarize(results, k)
    hits = total = 0
    for q in range(len(rows)):
        for src in set(sources[items == items[q]]) - {sources[q]}:
            pool = np.flatnonzero(sources == src)
            best = pool[int(np.argmax(sims[q, pool]))]
            hits += items[best] == items[q]
            total += 1
    return {"recall@10": round(s.recall_at_k, 4), "mAP@10": round(s.map_at_k, 4), "rank1": round(s.rank1, 4),
            "source_rank1": round(hits / total, 4)}


def reduce(x: np.ndarray, *, dims: int, whiten=False, power=1.0, shrinkage=0.0, views=None, **adapt) -> np.ndarray:
    reducer = VectorReducer(n_components=min(dims, len(x) - 1), whiten=whiten, power=power, shrinkage=shrinkage, **adapt)
    reducer.fit(x, views=views) if views is not None else reducer.fit(x)
    return reducer.transform(x)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("catalogs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "var" / "loop" / "results.json")
    p.add_argument("--only", default="", help="comma-separated experiment groups")
    p.add_argument("--report", nargs="*", metavar="LABEL", default=None,
                   help="print the markdown table of these labels (all when none) from --out, embed nothing")
    args = p.parse_args()
    if args.report is not None:
        print(report(json.loads(args.out.read_text()), args.report))
        return
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for catalog in args.catalogs:
        rows = read_set(catalog)
        name = catalog.parent.name
        res = results.setdefault(name, {})

        def record(label, vectors, rate):
            res[label] = {**evaluate(vectors, rows), "images_per_s": round(rate, 1), "dims": int(vectors.shape[1])}
            print(f"{name:8s} {label:55s} " + " ".join(f"{k} {v}" for k, v in res[label].items()), flush=True)
            args.out.write_text(json.dumps(results, indent=1, sort_keys=True))

        for spec in EXPERIMENTS(args.only):
            spec(rows, catalog, record)


def report(results: dict, labels: list[str]) -> str:
    """One row per option: each set's recall@10, mAP@10 and source rank-1, images/s, bytes per vector."""
    sets = sorted(results)
    labels = labels or sorted({label for r in results.values() for label in r})
    head = ["option"] + [f"{s} {m}" for s in sets for m in ("recall@10", "mAP@10", "source rank-1")]
    lines = ["| " + " | ".join(head + ["images/s", "bytes/vector"]) + " |", "|" + "---|" * (len(head) + 2)]
    for label in labels:
        cells = [label]
        rates, dims = [], 0
        for s in sets:
            r = results[s].get(label)
            if r is None:
                cells += ["-"] * 3
                continue
            cells += [f"{r['recall@10']:.3f}", f"{r['mAP@10']:.3f}", f"{r['source_rank1']:.3f}"]
            rates.append(r["images_per_s"])
            dims = r["dims"]
        cells += [f"{min(rates):.1f}" if rates else "-", str(4 * dims)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _post(rows, catalog, record):
    x, rate = features(catalog, "efficientnet_lite0")
    record("lite0 raw 1280", x, rate)
    record("lite0 pca256 (today)", reduce(x, dims=256), rate)
    for power in (1.0, 0.5):
        for dims in (256, 384, 512):
            for shrink in (0.0, 0.1, 0.3):
                record(f"lite0 power{power} white s{shrink} {dims}",
                       reduce(x, dims=dims, whiten=True, power=power, shrinkage=shrink), rate)


def _models(rows, catalog, record):
    for model in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
        for trim, pooling, flip in ((False, "avg", False), (True, "avg", False), (False, "gem", False),
                                    (False, "avg", True)):
            if model != "efficientnet_lite0" and (pooling != "avg" or flip or trim):
                continue
            x, rate = features(catalog, model, trim=trim, pooling=pooling, flip=flip)
            tag = model.replace("efficientnet_", "") + (" trim" if trim else "") + (f" {pooling}" if pooling != "avg" else "") + (" flip" if flip else "")
            record(f"{tag} power0.5 white s0.1 384", reduce(x, dims=384, whiten=True, power=0.5, shrinkage=0.1), rate)


def _ensembles(rows, catalog, record):
    parts = {}
    for model, trim in (("efficientnet_lite0", False), ("efficientnet_lite0", True), ("efficientnet_lite1", False),
                        ("efficientnet_lite2", False)):
        x, rate = features(catalog, model, trim=trim)
        parts[(model, trim)] = (reduce(x, dims=384, whiten=True, power=0.5, shrinkage=0.1), rate)
    def combo(keys):
        vecs = np.concatenate([parts[k][0] for k in keys], axis=1)
        rate = 1.0 / sum(1.0 / parts[k][1] for k in keys)
        return vecs, rate
    for keys in ((("efficientnet_lite0", False), ("efficientnet_lite1", False)),
                 (("efficientnet_lite0", False), ("efficientnet_lite2", False)),
                 (("efficientnet_lite0", True), ("efficientnet_lite0", False)),
                 (("efficientnet_lite0", True), ("efficientnet_lite2", False))):
        label = " + ".join(m.replace("efficientnet_", "") + (" trim" if t else "") for m, t in keys)
        record(f"concat {label} (384 each)", *combo(keys))


def _adapt(rows, catalog, record):
    for trim in (False, True):
        x, rate = features(catalog, "efficientnet_lite0", trim=trim)
        v, vrate = features(catalog, "efficientnet_lite0", trim=trim, views=1)
        both = 1.0 / (1.0 / rate + 1.0 / vrate)
        tag = "lite0" + (" trim" if trim else "")
        for dims in (256, 384):
            for shrink in (0.1, 0.3):
                record(f"{tag} adapt s{shrink} {dims}",
                       reduce(x, dims=dims, power=0.5, shrinkage=shrink, adapt=True, views=v), both)


GROUPS = {"post": _post, "models": _models, "ensembles": _ensembles, "adapt": _adapt}


def EXPERIMENTS(only: str):
    chosen = [g for g in only.split(",") if g] or list(GROUPS)
    return [GROUPS[g] for g in chosen]


if __name__ == "__main__":
    main()

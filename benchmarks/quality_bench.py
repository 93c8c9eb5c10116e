"""Section 'quality' (issue 11): retrieval quality on the development sets, per vector recipe.

For each row of :data:`ROWS` and each development set (:mod:`quality.devsets`, generated
once under the benchmark's data dir, deterministic), the quality harness
(:func:`quality.harness.evaluate`) indexes the set with the real reindex job and those
options, asks similar-by-id for every product, rank-1 under each other seller (the ``source``
filter) and photo search on a seeded sample, and records the numbers with the embedding
speed (a cold embedding cache per row, so images/s is the recipe's true cost) and the index
size. The first row also records the 16x16 pixel floor of each set.

Adding a row is one line in :data:`ROWS`: a label and :class:`indexer.reindex.ReindexOptions`
fields (the fields of ``EmbeddingOptions`` may be given flat: ``trim``, ``pooling``, ``flip``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

from lookalike.settings import Settings

log = logging.getLogger(__name__)

# (label, ReindexOptions fields). The first row is the seed's defaults, spelled out so that it
# stays that when the settings' defaults change; the second is whatever the defaults are now.
ROWS: list[tuple[str, dict]] = [
    ("seed defaults: efficientnet_lite0, PCA 256, no whitening",
     {"model": "efficientnet_lite0", "dims": 256, "whiten": False, "power": 1.0, "shrinkage": 0.0,
      "adapt": False, "trim": False, "pooling": "avg", "flip": False}),
    ("the defaults now (settings)", {}),
    # what the defaults are made of, one lever at a time (measured first in benchmarks/vector_options.py)
    ("signed sqrt + whitening (shrinkage 0.1), no adaptation, no framing",
     {"adapt": False, "trim": False, "whiten": True, "power": 0.5, "shrinkage": 0.1}),
    ("signed sqrt + adaptation, no framing", {"trim": False}),
    # the same recipe embedded by ONNX Runtime int8 (LOOKALIKE_MODEL_RUNTIME): vectors of their own
    ("the defaults, Lite0 in ONNX Runtime int8", {"runtime": "onnx-int8"}),
]
SETS = ("sellers", "photos")
SELLERS = 4
SEED = 0
PHOTO_QUERIES = 50
RESULTS = "quality.json"


def devset(bench_dir: Path, name: str, items: int) -> Path:
    """The development set's catalog under ``bench_dir``, generated the first time."""
    from quality.devsets import generate

    out = bench_dir / "devsets" / f"{name}-{items}x{SELLERS}-{SEED}"
    catalog = out / "catalog.jsonl"
    if not catalog.is_file():
        t0 = time.perf_counter()
        generate(name, out, items=items, sellers=SELLERS, seed=SEED)
        log.info("generated the %s development set (%d items) in %.0f s", name, items, time.perf_counter() - t0)
    return catalog


def run(settings: Settings, *, port: int, quick: bool = False, rows: list[tuple[str, dict]] | None = None,
        sets: tuple[str, ...] = SETS) -> list[dict]:
    from benchmarks.solr_bench import solr_node
    from indexer.reindex import ReindexOptions
    from quality.devsets import PRESETS
    from quality.harness import EvalOptions, evaluate

    items = PRESETS["small" if quick else "main"]
    catalogs = {name: devset(settings.data_dir, name, items) for name in sets}
    out: list[dict] = []
    with solr_node(settings, SimpleNamespace(port=port, heap="1g")) as (client, _):
        done: dict[tuple[str, str], dict] = {}
        for i, (label, options) in enumerate(rows or ROWS):
            for name, catalog in catalogs.items():
                if quick:  # the small sets have 80 images: a width they allow (the defaults narrow it)
                    options = {k: v for k, v in options.items() if k != "dims"}
                recipe = ReindexOptions.from_settings(settings, catalog=catalog, alias="x", **options).recipe()
                if recipe.get("dims") is None and not quick:  # the settings' width: the main sets allow it
                    recipe["dims"] = settings.pca_dims
                key = (name, json.dumps(recipe, sort_keys=True, default=str))
                if key in done:  # the same recipe as an earlier row: the same numbers
                    out.append({**done[key], "label": label, "options": options, "same_as": done[key]["label"]})
                    continue
                t0 = time.perf_counter()
                try:
                    report = evaluate(settings, client, catalog, EvalOptions(
                        key="item", filter_field="source", photo_queries=PHOTO_QUERIES, seed=SEED,
                        index=options, cold_cache=True, baseline=i == 0))
                except Exception as err:  # noqa: BLE001 - one row's failure must not hide the others
                    log.exception("quality row %r on %s failed", label, name)
                    out.append({"section": "quality", "set": name, "label": label, "options": options,
                                "error": str(err)})
                    continue
                row = _row(name, label, options, report)
                row["seconds"] = round(time.perf_counter() - t0, 1)
                log.info("quality %s / %s: recall@10 %.3f, source rank-1 %.3f, %.1f images/s", name, label,
                         row["recall_at_10"], row["source_rank1"], row["embed_images_per_s"] or 0)
                done[key] = row
                out.append(row)
                if report.baseline:
                    out += [_floor(name, mode, report) for mode in ("grey", "rgb")]
    return out


def _row(name: str, label: str, options: dict, report) -> dict:
    ix = report.index
    return {
        "section": "quality", "set": name, "label": label, "options": options, "recipe": ix.get("recipe"),
        "products": report.products, "items": report.items, "queries": report.similar["queries"],
        "recall_at_10": report.similar["recall_at_k"], "map_at_10": report.similar["map_at_k"],
        "rank1": report.similar["rank1"], "source_rank1": report.filtered["rank1"],
        "source_queries": report.filtered["queries"], "photo_recall_at_10": report.photo["recall_at_k"],
        "photo_queries": report.photo["queries"], "embed_images_per_s": ix.get("embed_images_per_s"),
        "index_seconds": ix.get("index_seconds"), "dims": ix.get("dims"), "size_bytes": ix.get("size_bytes"),
        "random_weights": ix.get("random_weights"),
    }


def _floor(name: str, mode: str, report) -> dict:
    b = report.baseline[mode]
    side = report.baseline["side"]
    return {"section": "quality", "set": name, "label": f"floor: {side}x{side} {mode} pixels, L2", "floor": True,
            "products": report.products, "queries": b["queries"], "recall_at_10": b["recall_at_k"],
            "map_at_10": b["map_at_k"], "rank1": b["rank1"], "source_rank1": b.get("filtered_rank1"),
            "dims": side * side * (3 if mode == "rgb" else 1)}


def write_results(rows: list[dict], machine: dict, path: Path) -> None:
    path.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1, default=str))

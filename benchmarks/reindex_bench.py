"""Section 'reindex' (issues 3 and 15): the bulk reindex job, cold and from a warm embedding cache.

Two measurements, both through the real job (``indexer.reindex.reindex``: read -> load ->
(cache) -> reduce -> create -> write -> merge -> verify -> swap), each row with the job's own
per-stage seconds:

* :func:`run`: the demo catalog twice into the benchmark's Solr node (alias ``bench_products``):
  the first run embeds whatever its cache lacks, the second finds every embedding in the cache.
* :func:`run_scale`: a synthetic catalog of 100k products (``--quick``: 10k), each with a
  distinct small real PNG file, whose embeddings are put into the embedding cache beforehand
  through the cache's own API (:meth:`~indexer.cache.EmbeddingCache.put_many`, keyed by the
  files' content hashes, for the model the job opens), so the job is warm: no CNN runs, and
  what is measured is our pipeline and Solr's indexing. The vectors are shaped like a
  catalog's CNN features: designs of 4 variants around points of a rank-96 space, plus a
  little noise, so the PCA has structure to find and each product has near neighbours (plain
  low-rank Gaussian noise is a set no catalog looks like: Solr's HNSW with M=16 then missed a
  probe's own vector among its 10 nearest, and the job refused the index). The catalog,
  pictures and cache entries are made once and kept under the data dir.

Standalone, on a Solr node of its own (a fresh clone, after ``make venv solr``)::

    python -m benchmarks.reindex_bench [--quick] [--count N] [--port 46500] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)
ALIAS = "bench_products"
SCALE_ALIAS = "bench_reindex"
SCALE_COUNT, QUICK_COUNT = 100_000, 10_000
PICTURE_SIDE = 8  # pixels: never decoded on a warm run, only read and hashed
LATENT, NOISE = 96, 0.05  # the synthetic embeddings' rank and isotropic noise
VARIANTS, VARIATION = 4, 0.3  # products per design (the catalog's group), their spread around the design
VECTORS_RECIPE = f"designs-{VARIANTS}-{VARIATION}-latent-{LATENT}-noise-{NOISE}"  # cache entries made otherwise are rewritten
CATEGORIES = ("t-shirt", "shirt", "dress", "trousers", "shoes", "bag", "hat")
COLOURS = ("red", "blue", "green", "black", "white", "yellow", "pink", "grey")


def _row(what: str, s, dims: int, model: str, catalog: str) -> dict:
    stages = s.seconds_by_stage
    write_s = stages.get("write", 0.0)
    return {
        "section": "reindex", "what": what, "catalog": catalog, "docs": s.indexed, "embedded": s.embedded,
        "cache_hits": s.cache_hits, "seconds": s.seconds_total,
        "docs_per_s": s.indexed / s.seconds_total if s.seconds_total else float("nan"),
        "write_docs_per_s": s.indexed / write_s if write_s else float("nan"),
        "stages": stages, "failed": s.failed, "dims": dims, "model": model, "segments": s.segments,
        "segments_written": s.segments_written,
        "load_avg": list(os.getloadavg()),
        "summary": {k: v for k, v in asdict(s).items() if k in ("collection", "previous", "pca_version")},
    }


def run(settings: Settings, client: SolrClient, catalog: Path, *, dims: int = 256,
        model: str = "efficientnet_lite0") -> list[dict]:
    from indexer.reindex import ReindexOptions, reindex

    rows = []
    options = ReindexOptions(catalog=catalog, alias=ALIAS, model=model, dims=dims)
    for what in ("first run", "rerun (warm cache)"):
        s = reindex(settings, client, options, show_progress=False)
        rows.append(_row(what, s, dims, model, "demo"))
        log.info("reindex %s: %d docs in %.1f s (%d embedded, %d from cache)", what, s.indexed, s.seconds_total,
                 s.embedded, s.cache_hits)
    return rows


# -- CPU seconds per stage -------------------------------------------------------------
class CpuSampler:
    """CPU seconds (user + system) of some processes, sampled every ``every_s`` in a thread.

    On a loaded machine wall seconds say little; the CPU seconds a stage costs the job and the
    Solr node hardly depend on the load, and bound what a quiet machine can do."""

    def __init__(self, pids: dict[str, int], every_s: float = 0.2):
        import threading

        self.procs = pids
        self.tick = os.sysconf("SC_CLK_TCK")
        self.every_s = every_s
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def _sample(self) -> None:
        cpu = {}
        for name, pid in self.procs.items():  # Linux: utime and stime of /proc/<pid>/stat, in clock ticks
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu[name] = (int(fields[11]) + int(fields[12])) / self.tick
        self.samples.append((time.perf_counter(), cpu))

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def __enter__(self) -> "CpuSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def by_stage(self, spans: list[tuple[str, float, float]]) -> dict[str, dict[str, float]]:
        """CPU seconds per process per stage: each sampling interval goes to the stage that had
        started last before its middle (time between two spans of a stage is that stage's too)."""
        starts = sorted((start, name) for name, start, _ in spans)
        out: dict[str, dict[str, float]] = {}
        for (t0, c0), (t1, c1) in zip(self.samples, self.samples[1:]):
            mid = (t0 + t1) / 2
            stage = "setup"
            for start, name in starts:
                if start > mid:
                    break
                stage = name
            slot = out.setdefault(stage, {})
            for proc in c1:
                slot[proc] = slot.get(proc, 0.0) + c1[proc] - c0[proc]
        return {k: {p: round(v, 2) for p, v in d.items()} for k, d in out.items()}


# -- the synthetic catalog at scale -----------------------------------------------------
def _picture(i: int, rng: np.random.Generator) -> bytes:
    """A distinct PNG: seeded noise with the product's number written into its first pixels."""
    import io

    from PIL import Image

    pixels = rng.integers(0, 256, size=(PICTURE_SIDE, PICTURE_SIDE, 3), dtype=np.uint8)
    pixels[0, :4, 0] = np.frombuffer(int(i).to_bytes(4, "little"), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def synthetic_catalog(out: Path, count: int, seed: int = 0) -> Path:
    """``out/catalog.jsonl`` of ``count`` products with pictures ``out/images/syn-<n>.png``
    (kept: a second call with the same count returns at once)."""
    from indexer.catalog_files import write_catalog

    catalog = out / "catalog.jsonl"
    stamp = out / "count.txt"
    if catalog.is_file() and stamp.is_file() and stamp.read_text().strip() == str(count):
        return catalog
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        name = f"images/syn-{i:07d}.png"
        (out / name).write_bytes(_picture(i, rng))
        rows.append({"id": f"syn-{i:07d}", "image": name, "title": f"synthetic product {i}",
                     "group": f"g{i // 4:06d}", "price": float(5 + (i * 37) % 200), "in_stock": i % 5 != 0,
                     "category": CATEGORIES[i % len(CATEGORIES)], "color": COLOURS[(i // 7) % len(COLOURS)]})
    write_catalog(out, rows, images_glob="syn-*.png")
    stamp.write_text(str(count))
    return catalog


def synthetic_vectors(count: int, width: int, seed: int = 0) -> np.ndarray:
    """float32[count, width] shaped like a catalog's CNN features: products in designs of
    ``VARIANTS`` (the catalog's ``group``) around a design's point in a rank-``LATENT`` space,
    plus a little isotropic noise, non-negative like pooled ReLU features."""
    rng = np.random.default_rng(seed + 1)
    mixing = rng.standard_normal((LATENT, width)).astype(np.float32) / np.sqrt(LATENT)
    designs = rng.standard_normal((count // VARIANTS + 1, LATENT)).astype(np.float32)
    out = np.empty((count, width), np.float32)
    for start in range(0, count, 10_000):
        n = min(10_000, count - start)
        latent = designs[np.arange(start, start + n) // VARIANTS] + VARIATION * rng.standard_normal((n, LATENT))
        out[start:start + n] = np.maximum(latent @ mixing + NOISE * rng.standard_normal((n, width)), 0)
    return out


def warm_cache(settings: Settings, catalog: Path, model: str) -> tuple[int, float]:
    """Put an embedding for every picture of ``catalog`` into the cache, for the model the job
    opens (its identity and weights hash), through the cache's own API; returns (entries written,
    seconds). Entries already there are left alone."""
    from indexer.cache import EmbeddingCache, image_key
    from indexer.models import open_model
    from indexer.models.efficientnet_lite import FEATURES

    started = time.perf_counter()
    opened = open_model(model, settings)
    cache = EmbeddingCache(settings.cache_dir, fsync=False)  # a benchmark's fixture, rebuilt when lost
    lines = [json.loads(line) for line in catalog.read_text().splitlines() if line.strip()]
    keys = [image_key((catalog.parent / row["image"]).read_bytes()) for row in lines]
    stamp = catalog.parent / "vectors.txt"
    rewrite = not stamp.is_file() or stamp.read_text().strip() != VECTORS_RECIPE
    written = 0
    if rewrite or cache.count(opened.identity, opened.weights_sha256) < len(keys):
        vectors = synthetic_vectors(len(keys), FEATURES)
        for start in range(0, len(keys), 5_000):
            chunk = keys[start:start + 5_000]
            present = {} if rewrite else cache.get_many(opened.identity, opened.weights_sha256, chunk)
            todo = {k: vectors[start + j] for j, k in enumerate(chunk) if k not in present}
            cache.put_many(opened.identity, opened.weights_sha256, todo)
            written += len(todo)
        stamp.write_text(VECTORS_RECIPE)
    return written, time.perf_counter() - started


def run_scale(settings: Settings, client: SolrClient, *, count: int = SCALE_COUNT, dims: int = 256,
              model: str = "efficientnet_lite0", rounds: int = 1, solr_pid: int | None = None) -> list[dict]:
    """The synthetic catalog of ``count`` products, warmed, then reindexed ``rounds`` times."""
    from indexer.reindex import ReindexOptions, reindex
    from indexer.timing import StageTimer

    if solr_pid is None:
        solr_pid = _node_pid(settings, client)
    t0 = time.perf_counter()
    catalog = synthetic_catalog(settings.data_dir / "reindex-bench" / f"syn-{count}", count)
    made_s = time.perf_counter() - t0
    written, warm_s = warm_cache(settings, catalog, model)
    log.info("synthetic catalog of %d in %.1f s; %d cache entries written in %.1f s", count, made_s, written, warm_s)
    options = ReindexOptions(catalog=catalog, alias=SCALE_ALIAS, model=model, dims=dims)
    rows = []
    for n in range(rounds):
        timer = StageTimer()
        with CpuSampler({"job": os.getpid(), **({"solr": solr_pid} if solr_pid else {})}) as cpu:
            s = reindex(settings, client, options, show_progress=False, timer=timer)
        if s.embedded:
            raise RuntimeError(f"the cache was not warm: {s.embedded} images were embedded")
        rows.append(_row(f"warm cache, synthetic ({n + 1})" if rounds > 1 else "warm cache, synthetic",
                         s, dims, model, f"synthetic {count}"))
        rows[-1]["cpu_s_by_stage"] = cpu.by_stage(timer.spans)
        log.info("reindex of %d from a warm cache: %.1f s, %.0f docs/s, stages %s", s.indexed, s.seconds_total,
                 rows[-1]["docs_per_s"], s.seconds_by_stage)
    return rows


def _node_pid(settings: Settings, client: SolrClient) -> int | None:
    """The pid of the local node ``client`` starts at (for its CPU seconds), or None."""
    from urllib.parse import urlparse

    from lookalike.solr import node

    port = urlparse(client.base_url).port
    return node.NodeFiles(settings.solr_dir, port).read_pid() if port else None


def main(argv=None) -> int:
    from lookalike.solr import cluster, node

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=f"{QUICK_COUNT:,} products instead of {SCALE_COUNT:,}")
    p.add_argument("--count", type=int, default=None, help="products in the synthetic catalog")
    p.add_argument("--rounds", type=int, default=1, help="reindex runs on the warm cache")
    p.add_argument("--port", type=int, default=46500, help="port of the Solr node this benchmark starts (its ZooKeeper: + 1000)")
    p.add_argument("--heap", default="2g", help="the node's heap")
    p.add_argument("--data-dir", type=Path, default=None, help="default: <LOOKALIKE_DATA_DIR>/bench")
    p.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    p.add_argument("--label", default=None, help="the rows' 'run' column (default: warm cache, synthetic)")
    p.add_argument("--merge-into", type=Path, default=None,
                   help="replace the synthetic reindex rows of this results file (benchmarks/results/default.json) "
                        "with these and render BENCHMARKS.md from it")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    base = Settings()
    settings = base.model_copy(update={"data_dir": args.data_dir or base.data_dir / "bench"})
    count = args.count or (QUICK_COUNT if args.quick else SCALE_COUNT)
    cluster.start(settings, nodes=1, port=args.port, heap=args.heap)
    try:
        with SolrClient(settings, node.base_url(args.port), role="admin") as client:
            rows = run_scale(settings, client, count=count, rounds=args.rounds)
    finally:
        cluster.stop(settings)
    if args.label:
        rows = [{**r, "what": args.label} for r in rows]
    text = json.dumps(rows, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    if args.merge_into:
        merge_rows(args.merge_into, rows)
    return 0


def merge_rows(results: Path, rows: list[dict]) -> None:
    """Put ``rows`` in place of the reindex rows of ``results`` with the same run label (the others,
    the demo catalog's among them, stay) and render ``BENCHMARKS.md`` from the file."""
    from benchmarks import report
    from benchmarks.run import ROOT

    res = json.loads(results.read_text())
    labels = {r["what"] for r in rows}
    res["rows"] = [r for r in res["rows"] if not (r.get("section") == "reindex" and r["what"] in labels)] + rows
    results.write_text(json.dumps(res, indent=1))
    (ROOT / "BENCHMARKS.md").write_text(report.render(res))

if __name__ == "__main__":
    raise SystemExit(main())

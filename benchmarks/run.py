"""The benchmark suite's one entry point: ``python -m benchmarks.run [--quick | --large]``.

Sections, in order (each can be skipped, see ``--help``): data (generate or open the cached
vectors), methods (numpy, scikit-learn trees, FAISS, hnswlib), solr (Solr HNSW, the exact
plugin, the planner; needs ``make solr``), pca (overlap and real-embedding precision),
embedding (images/s against TensorFlow's matmul rate), api (the HTTP API's latency over Solr's QTime
and over direct Solr requests, at 100k products), scale (similar-by-id through the API on one
node at 500k products, 1M with ``--large``: p50/p99, recall@10, QTime and Solr requests per
search at 100%, 10%, 1% and 0.1% filters, stock ``{!knn}``, numpy and FAISS interleaved as
ratios, throughput, index size and memory, per vector format; :mod:`benchmarks.scale_bench`), cloud (a three-node cloud of 3 shards x 2
replicas through the indexer's write stage and the API: write rate, memory per node, latency,
answers against numpy and a one-shard copy; 1M products with ``--large``,
:mod:`benchmarks.cloud_bench`), quality (recall@10, mAP@10 and rank-1 on the
development sets per vector recipe, :mod:`benchmarks.quality_bench`; also written to
``benchmarks/results/quality.json``). Writes ``benchmarks/results/<mode>.json``,
the plots under ``benchmarks/plots/`` and ``BENCHMARKS.md`` (for the default and large modes;
``--quick`` writes ``benchmarks/results/quick.md`` instead, so a smoke run never overwrites
the committed document).

Solr runs as a one-node cloud of lookalike's own launcher on ``--solr-port`` (48983) with its
files under ``<data_dir>/bench/solr``, so it never touches a cluster you run yourself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("methods", "solr", "pca", "embedding", "api", "scale", "cloud", "quality")
# Sections whose rows are theirs alone: run with --only, their rows replace the same rows of the
# existing results file and everything else there is kept.
MERGEABLE = {"api": ("api", "api_node"), "quality": ("quality",),
             "embedding": ("embedding", "embedding_runtime", "embedding_runtime_error"),
             "cloud": ("cloud", "cloud_write", "cloud_throughput", "cloud_collapse"),
             "scale": ("scale", "scale_index", "scale_topk", "scale_crossover", "scale_throughput", "scale_run")}

log = logging.getLogger("benchmarks")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a 2-3 minute smoke run at 20k vectors")
    size.add_argument("--large", action="store_true", help="add 1M vectors (and Solr HNSW at 500k)")
    p.add_argument("--skip", nargs="*", default=[], choices=SECTIONS, help="sections to leave out")
    p.add_argument("--only", nargs="*", default=None, choices=SECTIONS, help="run just these sections")
    p.add_argument("--solr-port", type=int, default=48983)
    p.add_argument("--api-port", type=int, default=48000, help="port of the app the api section starts")
    p.add_argument("--scale-variants", nargs="+", default=None,
                   help="vector formats of the scale section (none = float32; int7, int4 where the build has them)")
    p.add_argument("--scale-size", type=int, default=None,
                   help="products of the scale section (default 500k, 1M under --large); its rows are kept per size and "
                        "vector format, so `--only scale --scale-size 1000000` adds 1M rows next to the 500k ones")
    p.add_argument("--cloud-port", type=int, default=47983, help="first port of the cloud section's three nodes")
    p.add_argument("--quality-port", type=int, default=48990, help="port of the Solr node the quality section starts")
    p.add_argument("--demo-products", type=int, default=None, help="demo catalog size for the PCA precision")
    p.add_argument("--out", type=Path, default=None, help="where to write the Markdown report")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for noisy in ("faiss.loader", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from benchmarks import data, machine, report
    from lookalike.settings import Settings

    mode = "quick" if args.quick else "large" if args.large else "default"
    sections = [s for s in (args.only or SECTIONS) if s not in args.skip]
    settings = Settings()
    bench_dir = settings.data_dir / "bench"
    solr_settings = settings.model_copy(update={"data_dir": bench_dir})
    t_start = time.perf_counter()
    res: dict = {"mode": mode, "machine": machine.describe(), "rows": [], "section_s": {}}

    gt_cache: dict = {}
    from benchmarks import inmemory, solr_bench

    if set(sections) - {"quality", "embedding"}:  # these two sections read no vectors of their own
        t0 = time.perf_counter()
        # the 1M vectors when the scale section asks for more than the default data holds
        large_data = args.large or (args.scale_size or 0) > max(data.default_spec(quick=args.quick).sizes)
        ds = data.build(data.default_spec(quick=args.quick, large=large_data), settings.data_dir)
        res["data"] = ds.meta
        res["section_s"]["data"] = time.perf_counter() - t0
        plan = inmemory.default_plan(ds.spec.sizes, quick=args.quick, large=args.large)
        res["default_ef"] = plan.default_ef
    if "methods" in sections:
        t0 = time.perf_counter()
        res["rows"] += inmemory.run(ds, plan, gt_cache)
        res["section_s"]["methods"] = time.perf_counter() - t0
    if "solr" in sections:
        t0 = time.perf_counter()
        splan = solr_bench.default_plan(ds.spec.sizes, quick=args.quick, large=args.large)
        splan = type(splan)(**{**splan.__dict__, "port": args.solr_port, "default_topk": plan.default_ef})
        res["solr_sweep_cell"] = list(splan.sweep_cell)
        demo_count = args.demo_products or (400 if args.quick else 1200)

        def reindex_rows(client):
            from benchmarks import pca_quality, reindex_bench

            catalog = pca_quality.demo_catalog(bench_dir / "demo", demo_count)
            scale = reindex_bench.QUICK_COUNT if args.quick else reindex_bench.SCALE_COUNT
            return (reindex_bench.run(solr_settings, client, catalog)
                    + reindex_bench.run_scale(solr_settings, client, count=scale))

        try:
            rows = solr_bench.run(ds, splan, solr_settings, gt_cache, after=reindex_rows)
            res["rows"] += rows
            node = next((r for r in rows if r["section"] == "solr_node"), None)
            res["solr_java"] = node and node["java"]
        except Exception as err:  # noqa: BLE001 - the rest of the suite still reports
            log.exception("the Solr section failed")
            res["rows"].append({"section": "methods", "method": "Solr", "family": "solr", "error": str(err)})
        res["section_s"]["solr"] = time.perf_counter() - t0
    if "pca" in sections:
        from benchmarks import pca_quality

        t0 = time.perf_counter()
        res["rows"] += pca_quality.synthetic_overlap(ds, gt_cache, max_queries=200 if args.quick else 1000)
        try:
            count = args.demo_products or (400 if args.quick else 1200)
            res["rows"] += pca_quality.real_precision(solr_settings, bench_dir / "demo", count=count)
        except Exception as err:  # noqa: BLE001
            log.exception("the real-embedding PCA measure failed")
            res["rows"].append({"section": "pca_real_error", "error": str(err)})
        res["section_s"]["pca"] = time.perf_counter() - t0
    if "embedding" in sections:
        from benchmarks import embed_bench, pca_quality

        with section(res, "embedding"):
            catalog = next((bench_dir / "demo").glob("demo-*/catalog.jsonl"), None)
            if catalog is None:
                from indexer.demo_catalog import generate

                catalog = generate(bench_dir / "demo" / "demo-200-0", 200, 0)
            res["rows"] += embed_bench.run(settings, catalog, batches=1 if args.quick else 2,
                                           matmul_s=1.0 if args.quick else 3.0, runtime_rounds=2 if args.quick else 5)

    if "api" in sections:
        from benchmarks import api_bench

        aplan = api_bench.default_plan(quick=args.quick, solr_port=args.solr_port, api_port=args.api_port)
        with section(res, "api"):
            res["rows"] += api_bench.run(solr_settings, aplan, ds.vectors(aplan.width), ds.buckets())

    if "scale" in sections:
        from benchmarks import scale_bench

        kw = {"variants": tuple(args.scale_variants)} if args.scale_variants else {}
        if args.scale_size:
            kw["size"] = args.scale_size
        scplan = scale_bench.default_plan(quick=args.quick, large=args.large, solr_port=args.solr_port,
                                          api_port=args.api_port, **kw)
        with section(res, "scale"):
            res["rows"] += scale_bench.run(solr_settings, scplan, ds.vectors(scplan.width), ds.buckets(), ds.groups())

    if "cloud" in sections:
        from benchmarks import cloud_bench

        cplan = cloud_bench.default_plan(quick=args.quick, large=args.large)
        cplan = type(cplan)(**{**cplan.__dict__, "port": args.cloud_port})
        with section(res, "cloud"):
            res["rows"] += cloud_bench.run(solr_settings, cplan, ds.vectors(cplan.width), ds.buckets(), ds.groups())

    if "quality" in sections:
        from benchmarks import quality_bench

        with section(res, "quality"):
            rows = quality_bench.run(solr_settings, port=args.quality_port, quick=args.quick)
            quality_bench.write_results(rows, res["machine"], ROOT / "benchmarks" / "results" / quality_bench.RESULTS)
            res["rows"] += rows

    res["total_s"] = took_s = time.perf_counter() - t_start
    res["load_avg_end"] = os.getloadavg()
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    res = merge_into_existing(res, sections, results_dir / f"{mode}.json")
    (results_dir / f"{mode}.json").write_text(json.dumps(res, indent=1, default=_jsonable))
    plots_dir = report.PLOTS_DIR if mode != "quick" else results_dir / "quick-plots"
    report.plots(res, plots_dir)
    out = args.out or (ROOT / "BENCHMARKS.md" if mode != "quick" else results_dir / "quick.md")
    out.write_text(report.render(res))
    log.info("wrote %s and %s; this run took %.1f minutes", out, results_dir / f"{mode}.json", took_s / 60)
    return 0


@contextmanager
def section(res: dict, name: str):
    """Times section ``name`` into ``res["section_s"]``; if it fails, the failure is logged and
    becomes its ``<name>_error`` row, so the rest of the suite still runs and reports."""
    t0 = time.perf_counter()
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the rest of the suite still reports
        log.exception("the %s section failed", name)
        res["rows"].append({"section": f"{name}_error", "error": str(err)})
    finally:
        res["section_s"][name] = time.perf_counter() - t0


def merge_into_existing(res: dict, sections: list[str], path: Path) -> dict:
    """When only mergeable sections ran, their rows replace the same rows of the file at ``path``.

    The rest of that file (the other sections' rows, its machine and timings) is kept; this
    run's machine and load are stored under ``runs[<section>]``.
    """
    if not path.exists() or not sections or any(s not in MERGEABLE for s in sections):
        return res
    old = json.loads(path.read_text())
    owned = {rs for s in sections for rs in MERGEABLE[s]} | {f"{s}_error" for s in sections}
    new_rows = [r for r in res["rows"] if r.get("section") in owned]
    replaced = {_merge_key(r) for r in new_rows}
    old["rows"] = [r for r in old["rows"] if r.get("section") not in owned
                   or (r.get("section") in KEPT_PER_SIZE and _merge_key(r) not in replaced)] + new_rows
    for s in sections:
        old.setdefault("section_s", {})[s] = res["section_s"].get(s)
        meta = {**res["machine"], "load_avg_end": res["load_avg_end"]}
        old.setdefault("runs", {})[s] = meta
        for size in sorted({r["size"] for r in new_rows if r.get("section") in KEPT_PER_SIZE and "size" in r}):
            old["runs"][f"{s}_{size}"] = meta
        for size, variant in sorted({(r["size"], r["variant"]) for r in new_rows
                                     if r.get("section") in KEPT_PER_SIZE and "size" in r and "variant" in r}):
            old["runs"][f"{s}_{size}_{variant}"] = meta  # a size's formats may come from different runs
    return old


# sections whose rows a run replaces per (size, vector format), not all at once: the scale
# section at 1M runs on its own and joins the 500k rows; a run of one format keeps the others
KEPT_PER_SIZE = frozenset(MERGEABLE["scale"]) | {"scale_error"}


def _merge_key(row: dict) -> tuple:
    """A run that measured a size and vector format replaces every earlier scale row of that size
    and format, whatever its section: a sweep the new run did not need (auto met the recall aim)
    must not survive from an older run."""
    return row.get("size"), row.get("variant")


def _jsonable(o):
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


if __name__ == "__main__":
    sys.exit(main())

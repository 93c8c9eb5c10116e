"""The report's pipeline sections: the data, PCA width and quality, embedding, Solr writes."""

from __future__ import annotations

from benchmarks.report.context import Ctx
from benchmarks.report.fmt import DEFAULT_PARAM, f, fx, one, params_label, ratio, size_label, table, where


def data_section(c: Ctx) -> list[str]:
    """How the synthetic data was made."""
    res = c.res
    spec = res["data"]["spec"]
    ev = res["data"]["explained_variance"]
    data_md = [
        "## Data",
        "",
        f"Synthetic, deterministic (seed {spec['seed']}): a three-level Gaussian mixture in {spec['full_dims']} "
        f"dimensions ({spec['n_clusters']} categories, designs of {spec['variants']} variants, per-axis variance "
        f"~ i^-{spec['alpha']}), generated in its eigenbasis (a rotation changes no inner product), reduced by "
        f"scikit-learn PCA fitted on the first {spec['pca_fit_docs']:,} documents to "
        + ", ".join(str(w) for w in spec["widths"]) + " dimensions and L2-normalised. Sizes "
        + ", ".join(size_label(s) for s in spec["sizes"]) + " (each a prefix of the largest); "
        f"{spec['n_queries']} held-out queries (new variants of indexed designs). Explained variance: "
        + ", ".join(f"{w}-d {ev[str(w)] * 100:.0f}%" for w in spec["widths"]) + ". "
        "Filters: a `bucket` attribute uniform in 0..999, independent of the vectors; selectivity s keeps "
        "`bucket < 1000 s`. Generated in chunks of 10k rows (the 2048-d matrix is never held whole), cached under "
        "`$LOOKALIKE_DATA_DIR/bench/`.",
        "",
    ]
    return data_md


def pca_section(c: Ctx) -> list[str]:
    """PCA width against quality, synthetic and real."""
    rows = c.rows
    concl = c.concl
    pca_md = ["## PCA width and quality", ""]
    syn = where(rows, section="pca_synthetic")
    if syn:
        widths = sorted({r["dims"] for r in syn}, reverse=True)
        body = []
        for n in sorted({r["size"] for r in syn}):
            body.append([size_label(n)] + [f(one(syn, size=n, dims=w)["overlap10"], 3) for w in widths])
        pca_md += ["Synthetic: overlap@10 between the 10 nearest neighbours in the reduced space and in the "
                   "full 2048-d space.", "", table(["size"] + [f"{w}-d" for w in widths], body), ""]
    real = where(rows, section="pca_real")
    if real:
        raw = one(real, dims="raw")
        body = [[r["dims"], r["width"], f(r["precision10"], 3), f(r.get("overlap10_raw"), 3),
                 f(r["explained_variance"] * 100, 1) + "%"] for r in real]
        pca_md += [f"Real embeddings: the demo catalog ({real[0]['products']} products, {real[0]['groups']} designs) "
                   f"embedded with {real[0]['model']} and its pretrained ImageNet weights; precision@10 = share of "
                   "each product's 10 nearest other products that are variants of the same design (the best "
                   f"possible, given how many variants designs have, is {f(real[0]['ceiling'], 3)}).", "",
                   table(["width", "dims", "precision@10", "overlap@10 with raw", "PCA explained variance"], body),
                   "",
                   "![PCA](benchmarks/plots/pca.png)", ""]
        saturated = all(abs(r["precision10"] - r["ceiling"]) < 0.003 for r in real)
        if saturated:
            pca_md += [f"Every width reaches the ceiling ({f(real[0]['ceiling'], 3)}): on this catalog the variants "
                       "of a design are always each other's nearest neighbours, so precision cannot tell the widths "
                       "apart. The overlap@10 with the raw vectors (which products fill the rest of the top 10) "
                       "and the synthetic overlap are the measures that do.", ""]
            concl.append("On the demo catalog with real weights, precision@10 for \"same design\" is at its ceiling "
                         f"({f(real[0]['ceiling'], 3)}) at every width down to "
                         f"{min(r['width'] for r in real)}: the catalog is too easy to separate widths; overlap@10 "
                         "with the raw 1280-d neighbours: " + ", ".join(
                             f"{r['dims']} {f(r.get('overlap10_raw'), 3)}" for r in real if r["dims"] != "raw") + ".")
        if raw:
            r1024 = one(real, dims="1024")
            best = max(real, key=lambda r: r["precision10"])
            small = [r for r in real if r["dims"] != "raw" and r["precision10"] >= raw["precision10"] - 0.01]
            smallest = min(small, key=lambda r: r["width"]) if small else None
            if saturated:
                concl.append(default_width_conclusion(real, syn))
            if r1024:
                lossless = r1024["precision10"] >= raw["precision10"] - 0.01
                syn1024 = [r for r in syn if r["dims"] == 1024]
                concl.append(f"Seed claim \"PCA to 1024 without loss\": precision@10 {f(r1024['precision10'], 3)} at "
                             f"1024-d vs {f(raw['precision10'], 3)} raw ({raw['width']}-d, {real[0]['model']}) — "
                             + ("**holds**" if lossless else "**does not hold**") + " within 0.01"
                             + (" (but that measure is saturated on the demo catalog)" if saturated else "")
                             + f"; the top 10 at 1024-d keeps {f(r1024.get('overlap10_raw'), 3)} of the raw top 10"
                             + ("; on the synthetic 2048-d data 1024-d keeps " + ", ".join(
                                 f"{f(r['overlap10'], 3)} ({size_label(r['size'])})" for r in syn1024)
                                if syn1024 else "") + " — close, not lossless.")
            if smallest and not saturated:
                concl.append(f"Default width: the smallest width within 0.01 of raw precision is "
                             f"{smallest['width']} ({f(smallest['precision10'], 3)}); best overall "
                             f"{best['dims']} ({f(best['precision10'], 3)}).")
    if syn:
        s256 = [r for r in syn if r["dims"] == 256]
        if s256:
            concl.append("Synthetic overlap@10 with the full space at 256-d: " + ", ".join(
                f"{f(r['overlap10'], 3)} ({size_label(r['size'])})" for r in s256) + ".")
    return pca_md


def embedding_section(c: Ctx) -> list[str]:
    """Embedding throughput against TensorFlow's matmul rate."""
    rows = c.rows
    m = c.m
    concl = c.concl
    emb_md = ["## Embedding throughput", ""]
    run = c.res.get("runs", {}).get("embedding")
    if run:  # measured alone (--only embedding), after the rest of this report
        emb_md += [f"Measured on its own on {run['date']} (commit {run['git']}) at load average "
                   f"{run['load_avg_start'][0]:.1f} at start, {run['load_avg_end'][0]:.1f} at end: compare "
                   "rows of this section with each other, not with other sections.", ""]
    emb = where(rows, section="embedding")
    mm = next((r for r in emb if r["what"].startswith("tf.matmul")), None)
    models = [r for r in emb if not r["what"].startswith("tf.matmul")]
    if mm:
        body = [[r["what"] + (" (random weights: same FLOPs)" if r.get("random_weights") else ""), r["output_dim"],
                 f(r["gflop_per_image"], 2), f(r["images_per_s"], 1), f(r["images_per_s_e2e"], 1),
                 f(r["achieved_gflops"], 1), f"{r['efficiency'] * 100:.0f}%"] for r in models]
        emb_md += [f"TensorFlow's `tf.matmul` (2048 x 2048, float32) reached **{f(mm['gflops'], 1)} GFLOP/s** in this "
                   "run. Per model, batch 32: FLOP per image counted from its conv/dense layers; images/s of the "
                   "network alone and end to end from decoded images (preprocessing overlapped); achieved "
                   "GFLOP/s = images/s x FLOP/image; efficiency = achieved / matmul. An efficiency above 100% "
                   "means the convolutions (oneDNN) ran faster than this plain matmul, so the matmul rate is a "
                   "practical reference, not the hardware's ceiling"
                   + (f" (AVX2 FMA peak: {m['cores']} cores x {m['cpu_mhz'] / 1000:.2f} GHz x 32 FLOP/cycle = "
                      f"{m['cores'] * m['cpu_mhz'] / 1000 * 32:.0f} GFLOP/s)" if m.get("cpu_mhz") and "fma" in m["flags"]
                      else "") + ".", "",
                   table(["model", "dims", "GFLOP/image", "images/s (network)", "images/s (end to end)",
                          "achieved GFLOP/s", "efficiency"], body), ""]
        for r in models:
            concl.append(f"{r['what']}: {f(r['images_per_s'], 1)} images/s at batch 32, "
                         f"{r['efficiency'] * 100:.0f}% of the matmul rate.")
    emb_md += _runtime_md(c)
    return emb_md


def _runtime_md(c: Ctx) -> list[str]:
    """EfficientNet-Lite0 in TensorFlow, ONNX Runtime float32 and int8, interleaved in one run."""
    rt = where(c.rows, section="embedding_runtime")
    if not rt:
        err = where(c.rows, section="embedding_runtime_error")
        return [f"Runtimes: not measured in this run ({err[0]['error']})." if err else "Runtimes: not measured in this run.", ""]
    body = [[f"`{r['what']}`", r["model"], f(r["images_per_s"], 1), f"{r['speedup']:.2f}x", f"{r['max_abs_diff']:.1e}",
             f"{r['cosine_mean']:.4f} / {r['cosine_min']:.4f}"] for r in rt]
    by = {r["what"]: r for r in rt}
    if "onnx-int8" in by:
        c.concl.append(f"Lite0 in ONNX Runtime int8: {by['onnx-int8']['speedup']:.2f}x TensorFlow's images/s "
                       f"(float32 ONNX Runtime {by.get('onnx', {}).get('speedup', float('nan')):.2f}x), interleaved.")
    return ["Runtimes (`LOOKALIKE_MODEL_RUNTIME`): EfficientNet-Lite0 on one batch of "
            f"{rt[0]['batch']} preprocessed demo images, the three runtimes interleaved over {rt[0]['rounds']} rounds "
            "(so the shared machine's load falls on all alike); images/s is the median round, speedup the median "
            "of the per-round ratios to TensorFlow; the vectors compared with TensorFlow's (largest absolute "
            "difference, cosine mean / min). int8 makes vectors of its own (identity `+int8`): its retrieval "
            "quality is in the quality section.", "",
            table(["runtime", "identity", "images/s", "speedup", "max abs diff", "cosine to TF"], body), ""]


def writes_section(c: Ctx) -> list[str]:
    """Solr writes and the reindex job."""
    rows = c.rows
    methods = c.methods
    concl = c.concl
    loses = c.loses
    w_md = ["## Solr writes and reindexing (issue 3)", ""]
    writes = where(rows, section="solr_write")
    if writes:
        body = [[size_label(r["size"]), r["dims"], r["graph"], f(r["docs_per_s"]), f(r["send_s"], 1),
                 f(r["commit_s"], 1), f(r.get("settle_s"), 1), f(r["client_encode_s"], 1), r["segments"],
                 f(r["index_mb"], 0), f(r["rss_after_mb"], 0)] for r in writes]
        w_md += ["JSON documents (`id`, `bucket_l`, `vector`) in batches of 1000 from two client threads, then one "
                 "commit. \"graph\" is the HNSW setting of the collection (the plugin-only collections use the "
                 "cheapest graph, which the exact plugin never reads). \"settle s\": how long the node kept "
                 "merging after the commit; queries are measured only once it is idle (not part of docs/s).", "",
                 table(["size", "dims", "graph", "docs/s", "send s", "commit s", "settle s", "client encode s",
                        "segments", "index MB", "node RSS MB"], body), ""]
        full = [r for r in writes if r["graph"].startswith("M=16")]
        if full:
            slowest = min(full, key=lambda r: r["docs_per_s"])
            hn = [r for r in methods if r["family"] == "hnsw" and r["size"] == slowest["size"]
                  and r["dims"] == slowest["dims"]]
            if hn:
                fastest = max(hn, key=lambda r: r["build_docs_per_s"])
                rt = ratio(fastest["build_docs_per_s"], slowest["docs_per_s"])
                text = (f"Building the HNSW index through Solr: {f(slowest['docs_per_s'])} docs/s at "
                        f"{size_label(slowest['size'])} x {slowest['dims']} (JSON over HTTP, two senders, M=16 "
                        f"beamWidth=100) against {f(fastest['build_docs_per_s'])} docs/s for {fastest['method']} "
                        f"in process ({params_label({k: v for k, v in fastest['params'].items() if k != DEFAULT_PARAM.get(fastest['method'])})})")
                if rt and rt > 1:
                    loses.append(text + f": {fx(rt)} slower.")
                else:
                    concl.append(text + f": Solr is {fx(1 / rt)} faster." if rt else text + ".")
    reidx = where(rows, section="reindex")
    if reidx:
        body = [[r.get("catalog", "demo"), r["what"], f(r["docs"]), r["embedded"], f(r["cache_hits"]), f(r["seconds"], 1),
                 f(r["docs_per_s"]), f(r["write_docs_per_s"]),
                 ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items()),
                 ", ".join(f"{k} {v.get('job', 0):.0f}/{v.get('solr', 0):.0f}" for k, v in r["cpu_s_by_stage"].items())
                 if r.get("cpu_s_by_stage") else "-",
                 " / ".join(f"{x:.1f}" for x in r["load_avg"][:1]) if r.get("load_avg") else "-"] for r in reidx]
        w_md += [f"`lookalike index` (indexer/reindex.py), {reidx[0]['model']}, plain PCA to {reidx[0]['dims']}: "
                 "everything from reading the catalog to the alias swap. \"demo\": the demo catalog, first run and "
                 "rerun; \"synthetic N\": `benchmarks/reindex_bench.py`, N products with distinct small PNG files whose "
                 "embeddings were put into the cache beforehand through the cache's API (no CNN runs). docs/s = "
                 "documents / total seconds; write docs/s = documents / seconds of the write stage; CPU s per "
                 "stage: CPU seconds the job's process / the Solr node spent while the stage ran (sampled from /proc; "
                 "far less load-dependent than wall seconds); load = the 1-minute load average when the run ended "
                 "(2 cores).", "",
                 table(["catalog", "run", "docs", "embedded", "from cache", "total s", "docs/s", "write docs/s",
                        "seconds per stage", "CPU s per stage (job/Solr)", "load"], body), ""]
        warm_rows = [r for r in reidx if r["embedded"] == 0]
        most = max((r["docs"] for r in warm_rows), default=0)
        warm = next((r for r in reversed(warm_rows) if r["docs"] == most), None)  # the newest of the largest
        cpu = (warm or {}).get("cpu_s_by_stage") or {}
        solr_cpu = sum(cpu.get(s, {}).get("solr", 0.0) for s in ("write", "merge"))
        if solr_cpu:
            cores = c.m.get("cores") or 2
            concl.append(f"The HNSW build bounds the reindex: the Solr node spent {solr_cpu:.0f} CPU seconds in the "
                         f"write and merge stages for {f(warm['docs'])} documents ({1000 * solr_cpu / warm['docs']:.2f} ms "
                         f"a document), so {cores} cores index at most {f(cores * warm['docs'] / solr_cpu)} docs/s even "
                         "with every core busy and nothing else to do; the merge to one segment alone is "
                         f"{cpu.get('merge', {}).get('solr', 0.0):.0f} CPU seconds (on every merge worker).")
        if warm:
            load = f", load average {warm['load_avg'][0]:.1f} on {c.m.get('cores') or 2} cores" if warm.get("load_avg") else ""
            best = max((r for r in warm_rows if r["docs"] == most), key=lambda r: r["docs_per_s"])
            fastest = "" if best is warm else (f"; the fastest run of the table at this size: "
                                               f"{f(best['docs_per_s'])} docs/s, \"{best['what']}\"")
            concl.append(f"Reindex from a warm cache: {f(warm['docs_per_s'])} docs/s end to end in the newest run "
                         f"({f(warm['docs'])} docs{load}; target 2,000 docs/s{fastest}).")
            if warm["docs_per_s"] < 2000:
                loses.append(f"Reindex from a warm cache runs at {f(warm['docs_per_s'])} docs/s on {f(warm['docs'])} "
                             "documents, below the 2,000 docs/s target (see the per-stage seconds: Solr's HNSW "
                             "build in the write and merge stages is most of it).")
    else:
        w_md += ["Reindex from a warm embedding cache: not measured in this run.", ""]
    return w_md


def default_width_conclusion(real: list[dict], syn: list[dict], *, keep: float = 0.9, shipped: int | None = None) -> str:
    """Which PCA width the tables support, said against the width the indexer ships with.

    The rule: the smallest width whose top 10 keeps ``keep`` of the reference top 10 both on the demo
    catalog (against its raw vectors) and on the synthetic data at every size (against the 2048-d space).
    """
    from lookalike.settings import Settings

    shipped = shipped or Settings.model_fields["pca_dims"].default
    demo = {int(r["width"]): r.get("overlap10_raw") or 0.0 for r in real if r["dims"] != "raw"}
    synth: dict[int, list[float]] = {}
    for r in syn:
        synth.setdefault(int(r["dims"]), []).append(r["overlap10"])
    widths = sorted(w for w in demo if w in synth)
    ok = [w for w in widths if demo[w] >= keep and min(synth[w]) >= keep]
    said = (f"the smallest width whose top 10 keeps >= {keep:.0%} of the reference top 10 on both the demo "
            f"catalog and the synthetic data (every size) is {ok[0]}" if ok else
            f"no measured width keeps >= {keep:.0%} of the reference top 10 on both the demo catalog and the "
            "synthetic data")
    if shipped in demo and shipped in synth:
        said += (f"; the shipped default ({shipped}, `LOOKALIKE_PCA_DIMS`) keeps {demo[shipped]:.3f} on the demo "
                 f"catalog and {min(synth[shipped]):.3f} at worst on the synthetic data")
        if ok and shipped < ok[0]:
            said += (f", below the rule: catalogs as hard as the synthetic 500k set should index at {ok[0]} "
                     "(at the cost of index size and scan time, see the tables)")
        elif ok and shipped > ok[0]:
            said += ", above what the rule needs"
    return "Default width: " + said + "."

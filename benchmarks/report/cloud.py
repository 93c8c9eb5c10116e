"""The report's cloud section: a catalog on three nodes through the write stage and the API."""

from __future__ import annotations

from benchmarks.report.fmt import f, one, sel_label, size_label, table, where


def cloud_section(res, concl) -> list[str]:
    """Write rate, memory per node, latency and answers on a three-node cloud (section 'cloud')."""
    md = ["## A three-node cloud (issue 14)", ""]
    w = one(res["rows"], section="cloud_write")
    if not w:
        err = one(res["rows"], section="cloud_error")
        return md + [f"Not measured in this run{': ' + err['error'] if err else ''}.", ""]
    rows = where(res["rows"], section="cloud")
    run = res.get("runs", {}).get("cloud", {})
    when = f" (measured {run['date']}, commit `{run['git']}`, load average {run['load_avg_start'][0]:.1f} at " \
           f"start, {run['load_avg_end'][0]:.1f} at end)" if run else ""
    one_w = w.get("one_shard")
    md += [f"{size_label(w['size'])} products x {w['dims']} dims on the launcher's {w['nodes']}-node cloud (three "
           f"JVMs of {w['heap']} heap on this one machine, the embedded three-server ZooKeeper ensemble), one "
           f"collection of {w['shards']} shards x {w['replicas']} replicas made as the indexer makes it "
           f"(`router.field=_route_key`), written by the indexer's write stage (`indexer.pipeline.write_docs`) "
           f"and force-merged as a bulk reindex does; then `lookalike serve` pointed at node 1{when}.", "",
           table(["collection", "documents", "write s", "docs/s", "merge s", "segments after"],
                 [[f"{w['shards']} x {w['replicas']}", f"{w['docs']:,}", f(w["write_s"], 0), f(w["docs_per_s"], 0),
                   f(w["merge_s"], 0), w["segments"]]]
                 + ([["1 x 1 (the one-node copy)", f"{one_w['docs']:,}", f(one_w["write_s"], 0),
                      f(one_w["docs_per_s"], 0), f(one_w["merge_s"], 0), one_w["segments"]]] if one_w else [])), "",
           "Memory per node after the writes and merges settled (resident set of the JVM; index bytes per "
           "collection on the node's disk):", "",
           table(["node", "RSS MB", "index MB by collection"],
                 [[m["port"], f(m["rss_mb"], 0), ", ".join(f"{k} {v:,.0f}" for k, v in m["index_mb"].items())]
                  for m in w["memory"]]), ""]
    if w.get("note"):
        md += [w["note"], ""]
    if rows:
        md += [f"`GET /api/products/{{id}}/similar?k=10`, {rows[0]['queries']} product ids per row, one client. "
               "\"equal to numpy\": the share of exact answers that are the same ten products in the same order as "
               "a numpy scan of the same vectors; \"equal to one shard\": the share of answers identical to the "
               "one-shard copy's through the same API (a second `lookalike serve` over it); \"one shard p50\": that copy's "
               "latency, asked right after each sharded request, so the ratio is the cost of the fan-out on one "
               "machine.", "",
               table(["filter", "mode", "chose", "API p50 ms", "API p99 ms", "recall@10 vs numpy", "equal to numpy",
                      "max score error", "equal to one shard", "one shard p50 / p99 ms"],
                     [[f"{r['filter']} ({sel_label(r['selectivity'])})", r["mode"], r["chose"], f(r["api_p50_ms"], 1),
                       f(r["api_p99_ms"], 1), f(r["recall_at_10"], 3), f(r.get("exact_equal_share"), 3),
                       f"{r['max_score_error']:.1e}" if "max_score_error" in r else "–",
                       f(r.get("equal_to_one_shard"), 3),
                       f"{f(r['one_p50_ms'], 1)} / {f(r['one_p99_ms'], 1)}" if "one_p50_ms" in r else "–"]
                      for r in rows]), ""]
    col = one(res["rows"], section="cloud_collapse")
    if col:
        md += [f"`variants=collapse` on the sharded alias: {col['answers_with_a_repeated_design']} of "
               f"{col['queries']} answers show two products of one design.", ""]
    tp = where(res["rows"], section="cloud_throughput")
    if tp:
        md += ["Throughput, auto mode, unfiltered, concurrent clients on the same machine as the three nodes:", "",
               table(["clients", "requests/s", "p50 ms", "p99 ms"],
                     [[r["clients"], f(r["rps"], 0), f(r["p50_ms"], 1), f(r["p99_ms"], 1)] for r in tp]), ""]
    auto = one(rows, filter="none", mode="auto") if rows else None
    if auto:
        concl.append(f"On three nodes at {size_label(w['size'])} products ({w['shards']} shards x {w['replicas']} "
                     f"replicas): written at {f(w['docs_per_s'], 0)} docs/s, similar-by-id p50 "
                     f"{f(auto['api_p50_ms'], 1)} ms / p99 {f(auto['api_p99_ms'], 1)} ms through the API (auto).")
    return md

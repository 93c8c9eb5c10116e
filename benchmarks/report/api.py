"""The report's API section: the HTTP API's latency beside Solr's QTime and direct requests."""

from __future__ import annotations

from benchmarks.report.fmt import f, one, size_label, table, where


def api_section(res, concl) -> list[str]:
    """The API's latency beside Solr's QTime and direct Solr requests (section 'api')."""
    api = where(res["rows"], section="api")
    md = ["## The HTTP API over Solr (issue 4)", ""]
    if not api:
        err = one(res["rows"], section="api_error")
        return md + [f"Not measured in this run{': ' + err['error'] if err else ''}.", ""]
    run = res.get("runs", {}).get("api", {})
    when = f" (measured {run['date']}, commit `{run['git']}`, load average {run['load_avg_start'][0]:.1f} at " \
           f"start, {run['load_avg_end'][0]:.1f} at end)" if run else ""
    md += [f"`GET /api/products/{{id}}/similar?k=10` against the real app (`lookalike serve`, uvicorn, one "
           f"worker) on {size_label(api[0]['size'])} products x {api[0]['dims']} dims, one client, "
           f"{api[0]['queries']} product ids per row{when}. \"API\" is the client's wall time; \"QTime\" is "
           "Solr's own time summed over the requests the API made (`qtime_ms` in the answer); \"direct\" "
           "sends exactly those Solr requests (real-time get, count, select, as recorded from the app's "
           "search service) straight to Solr; \"select\" is the main `/select` alone; \"in-app search\" is "
           "`took_ms` in the answer, the search service's own wall time inside the app. The three are "
           "interleaved per product id. \"+ over\" columns are medians of per-request differences.", "",
           table(["filter", "mode", "chose", "Solr requests (all / select)", "API p50 ms", "API p99 ms", "QTime p50", "QTime p99",
                  "in-app search p50", "direct p50", "direct p99", "select p50", "+ over QTime", "+ over direct"],
                 [[r["filter"], r["mode"], r["chose"], f"{r['direct_requests']:.0f} / {r['solr_requests']:.0f}", f(r["api_p50_ms"], 1),
                   f(r["api_p99_ms"], 1), f(r["qtime_p50_ms"], 1), f(r["qtime_p99_ms"], 1), f(r["took_p50_ms"], 1), f(r["direct_p50_ms"], 1),
                   f(r["direct_p99_ms"], 1), f(r["select_p50_ms"], 1), f(r["over_qtime_p50_ms"], 1),
                   f(r["over_direct_p50_ms"], 1)] for r in api]), ""]
    oq = sorted(r["over_qtime_p50_ms"] for r in api)
    od = sorted(r["over_direct_p50_ms"] for r in api)
    auto = [r for r in api if r["mode"] == "auto"]
    text = (f"The API adds {f(oq[len(oq) // 2], 1)} ms (median over the {len(api)} rows; range {f(oq[0], 1)}–"
            f"{f(oq[-1], 1)}) over Solr's QTime and {f(od[len(od) // 2], 1)} ms (range {f(od[0], 1)}–"
            f"{f(od[-1], 1)}) over sending the same Solr requests directly, for similar-by-id at "
            f"{size_label(api[0]['size'])} products")
    if auto:
        text += "; auto mode: " + ", ".join(f"{r['filter']} {f(r['api_p50_ms'], 1)} ms p50 / {f(r['api_p99_ms'], 1)} "
                                           f"p99" for r in auto)
    svc = sorted(r["took_p50_ms"] - r["direct_p50_ms"] for r in api)
    web = sorted(r["api_p50_ms"] - r["took_p50_ms"] for r in api)
    split = (f" Of the gap over direct requests, the search service inside the app accounts for "
             f"{f(svc[len(svc) // 2], 1)} ms (median of p50 differences) and the HTTP layer around it (uvicorn, "
             f"FastAPI, the response model, the client's own HTTP) for {f(web[len(web) // 2], 1)} ms.")
    md += [text + "." + split, ""]
    concl.append(text + "." + split)
    return md

"""The 'quality' section of BENCHMARKS.md: one table per development set, one row per recipe."""

from __future__ import annotations

from benchmarks.report.fmt import f, table, where

SET_TEXT = {
    "sellers": "the demo designs, each photographed by four sellers",
    "photos": "crops of real photographs (scikit-image, scikit-learn), each photographed by four sellers",
}


def quality_section(res: dict) -> list[str]:
    rows = where(res["rows"], section="quality")
    md = ["## Retrieval quality on the development sets (issue 11)", ""]
    if not rows:
        return md + ["Not measured in this run (`python -m benchmarks.run --only quality`).", ""]
    run = res.get("runs", {}).get("quality", {})
    when = (f" Measured {run['date']}, commit `{run['git']}`, load average {run['load_avg_start'][0]:.1f} at start, "
            f"{run['load_avg_end'][0]:.1f} at end.") if run else ""
    md += ["`lookalike eval CATALOG --key item --filter-field source` on each development set "
           "(`lookalike devset NAME`, seed 0): the catalog is indexed with the real reindex job and the row's "
           "options, and every product asks similar-by-id through the search service (the query itself left "
           "out, its item's other renderings kept). recall@10: the share of the item's 3 other renderings in "
           "the top 10; mAP@10; rank-1: the first answer is the same item. \"source rank-1\": for each query and "
           "each of the 3 other sellers, filtered to that seller, the first answer is the same item. Photo "
           "search: 50 catalog images uploaded through the photo path, their own product left out. Images/s: "
           "embedding (load + network) with a cold cache, noisy on this shared machine (compare rows of one run). The floor ranks 16x16 thumbnails by L2 on raw pixels."
           + when, ""]
    header = ["option", "recall@10", "mAP@10", "rank-1", "source rank-1", "photo recall@10", "embedding images/s",
              "dims", "index MB"]
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        n = next((r for r in mine if "products" in r), {})
        md += [f"### {name}: {SET_TEXT.get(name, name)} ({n.get('products', '?')} images, {n.get('queries', '?')} "
               "queries)", ""]
        body = []
        for r in sorted(mine, key=lambda r: bool(r.get("floor"))):
            if "error" in r:
                body.append([r["label"], f"failed: {r['error'][:120]}"] + [""] * (len(header) - 2))
                continue
            label = f"*{r['label']}*" if r.get("floor") else r["label"] + (f" (= {r['same_as']})" if r.get("same_as") else "")
            size = r.get("size_bytes")
            body.append([label, f(r["recall_at_10"], 3), f(r["map_at_10"], 3), f(r["rank1"], 3),
                         f(r.get("source_rank1"), 3), f(r.get("photo_recall_at_10"), 3),
                         f(r.get("embed_images_per_s"), 1), r.get("dims", ""), f(size / 1e6, 1) if size else ""])
        md += [table(header, body), ""]
    return md

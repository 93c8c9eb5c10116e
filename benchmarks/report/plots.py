"""The PNG plots of the report (matplotlib, imported on use)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from benchmarks.report.fmt import is_default, one, size_label, where

PLOTS_DIR = Path(__file__).resolve().parents[1] / "plots"


def plots(res, out_dir: Path = PLOTS_DIR) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [r for r in res["rows"] if r.get("section") == "methods" and "recall10" in r]
    made = []
    cells = sorted({(r["size"], r["dims"]) for r in rows if r["family"] in ("hnsw", "solr-hnsw")})
    if cells:
        fig, axes = plt.subplots(1, len(cells), figsize=(5.2 * len(cells), 4.2), squeeze=False)
        for ax, (n, d) in zip(axes[0], cells):
            cell = [r for r in rows if r["size"] == n and r["dims"] == d and r["selectivity"] == 1.0]
            by = defaultdict(list)
            for r in cell:
                by[r["method"]].append(r)
            for method, rs in sorted(by.items()):
                rs = sorted(rs, key=lambda r: r["p50_ms"])
                style = "o-" if len(rs) > 1 else "s"
                ax.plot([r["p50_ms"] for r in rs], [r["recall10"] for r in rs], style, label=method, ms=5)
            ax.set_xscale("log")
            ax.set_xlabel("latency p50, one client (ms, log)")
            ax.set_ylabel("recall@10 vs exact")
            ax.set_title(f"{size_label(n)} vectors x {d} dims, no filter")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(out_dir / "recall_vs_latency.png", dpi=110)
        plt.close(fig)
        made.append("recall_vs_latency.png")
    sweep = res.get("solr_sweep_cell")
    if sweep:
        n, d = sweep
        cell = [r for r in rows if r["size"] == n and r["dims"] == d and r.get("filter_mode") != "none"
                and is_default(r, res["default_ef"])]
        if cell:
            fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
            by = defaultdict(list)
            for r in cell:
                by[r["method"]].append(r)
            for method, rs in sorted(by.items()):
                rs = sorted(rs, key=lambda r: r["selectivity"])
                xs = [r["selectivity"] * 100 for r in rs]
                a1.plot(xs, [r["p50_ms"] for r in rs], "o-", label=method, ms=4)
                a2.plot(xs, [r["recall10"] for r in rs], "o-", label=method, ms=4)
            for a in (a1, a2):
                a.set_xscale("log")
                a.set_xlabel("filter selectivity (% of documents passing, log)")
                a.grid(True, which="both", alpha=0.3)
            a1.set_yscale("log")
            a1.set_ylabel("latency p50 (ms, log)")
            a2.set_ylabel("recall@10 vs exact (filtered)")
            a1.set_title(f"{size_label(n)} x {d}: latency under a filter")
            a2.set_title("recall under a filter")
            a2.legend(fontsize=7, loc="lower right")
            fig.tight_layout()
            fig.savefig(out_dir / "filters.png", dpi=110)
            plt.close(fig)
            made.append("filters.png")
    syn = where(res["rows"], section="pca_synthetic")
    real = [r for r in where(res["rows"], section="pca_real") if r["dims"] != "raw"]
    if syn or real:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for n in sorted({r["size"] for r in syn}):
            rs = sorted(where(syn, size=n), key=lambda r: r["dims"])
            ax.plot([r["dims"] for r in rs], [r["overlap10"] for r in rs], "o-",
                    label=f"synthetic {size_label(n)}: overlap@10 with 2048-d")
        if real:
            rs = sorted(real, key=lambda r: r["width"])
            ax.plot([r["width"] for r in rs], [r["precision10"] for r in rs], "s-",
                    label="demo catalog: precision@10 same design")
            raw = one(res["rows"], section="pca_real", dims="raw")
            if raw:
                ax.axhline(raw["precision10"], ls="--", c="grey", label=f"demo catalog, raw {raw['width']}-d")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("PCA width")
        ax.set_ylim(0, 1.02)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title("What reducing the width costs")
        fig.tight_layout()
        fig.savefig(out_dir / "pca.png", dpi=110)
        plt.close(fig)
        made.append("pca.png")
    return made

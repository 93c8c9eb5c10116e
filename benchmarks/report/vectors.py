"""Section 'vector options' (issue 11): the measuring loop's table (:mod:`benchmarks.vector_options`).

Rendered from ``benchmarks/results/vector_options.json``, which ``python -m
benchmarks.vector_options CATALOG...`` writes (raw features embedded once per model identity,
post-processing, adaptation and ensembles evaluated in numpy with :mod:`quality.metrics`).
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "results" / "vector_options.json"

# (label in the loop's results, what the row is), in the order of the table
ROWS = [
    ("lite0 pca256 (today)", "seed defaults: Lite0, PCA 256, no whitening"),
    ("lite0 power1.0 white s0.1 256", "whitening, shrinkage 0.1, 256"),
    ("lite0 power0.5 white s0.1 256", "signed sqrt + whitening s0.1, 256"),
    ("lite0 power0.5 white s0.0 384", "signed sqrt + whitening s0 (none), 384"),
    ("lite0 power0.5 white s0.1 384", "signed sqrt + whitening s0.1, 384"),
    ("lite0 power0.5 white s0.3 384", "signed sqrt + whitening s0.3, 384"),
    ("lite0 power0.5 white s0.0 512", "signed sqrt + whitening s0 (none), 512"),
    ("lite0 power0.5 white s0.3 512", "signed sqrt + whitening s0.3, 512"),
    ("lite0 trim power0.5 white s0.1 384", "framing (trim) + sqrt + whitening s0.1, 384"),
    ("lite0 gem power0.5 white s0.1 384", "GeM p=3 + sqrt + whitening s0.1, 384"),
    ("lite0 flip power0.5 white s0.1 384", "flip averaging + sqrt + whitening s0.1, 384"),
    ("lite1 power0.5 white s0.1 384", "Lite1 + sqrt + whitening s0.1, 384"),
    ("lite2 power0.5 white s0.1 384", "Lite2 + sqrt + whitening s0.1, 384"),
    ("lite0 adapt s0.1 384", "sqrt + adaptation s0.1, 384"),
    ("lite0 adapt s0.3 384", "sqrt + adaptation s0.3, 384"),
    ("lite0 trim adapt s0.1 256", "framing + sqrt + adaptation s0.1, 256"),
    ("lite0 trim adapt s0.1 384", "**the defaults now**: framing + sqrt + adaptation s0.1, 384"),
    ("concat lite0 + lite1 (384 each)", "ensemble: Lite0 + Lite1, each sqrt + whitened 384, concatenated"),
    ("concat lite0 + lite2 (384 each)", "ensemble: Lite0 + Lite2, each sqrt + whitened 384, concatenated"),
    ("concat lite0 trim + lite2 (384 each)", "ensemble: Lite0 (trim) + Lite2, each sqrt + whitened 384"),
]


def vectors_section(path: Path = RESULTS) -> list[str]:
    if not path.is_file():
        return []
    results = json.loads(path.read_text())
    sets = sorted(results)
    out = ["## Vector options on the development sets (issue 11)", "",
           "Measured by the numpy loop `python -m benchmarks.vector_options` (not by `make bench`, whose quality "
           "section indexes through Solr and takes about 8 minutes per row here): each set (200 items x 4 sellers, "
           "seed 0) embedded once per model identity, the PCA, whitening and adaptation fitted on the set itself as "
           "`lookalike index` fits them on the catalog, metrics from `quality.metrics` (recall@10 and mAP@10 over "
           "every image; source rank-1: restricted to each other seller, the first answer is the same item). "
           "images/s: the slowest set's embedding rate in the loop on a machine at load 7-12 (compare rows, not "
           "machines); adaptation rows embed one augmented view of every image, so half the rate (the index job "
           "embeds at most 1000 views). bytes: one float32 vector. The quality section above was measured before "
           "these defaults landed (its \"defaults now\" row is still the seed's recipe); its next run measures them "
           "through Solr.", ""]
    head = ["option"] + [f"{s} {m}" for s in sets for m in ("recall@10", "mAP@10", "source rank-1")]
    out += ["| " + " | ".join(head + ["images/s", "bytes"]) + " |", "|" + "---|" * (len(head) + 2)]
    for label, text in ROWS:
        if not all(label in results[s] for s in sets):
            continue
        cells = [text]
        for s in sets:
            r = results[s][label]
            cells += [f"{r['recall@10']:.3f}", f"{r['mAP@10']:.3f}", f"{r['source_rank1']:.3f}"]
        rate = min(results[s][label]["images_per_s"] for s in sets)
        cells += [f"{rate:.1f}", str(4 * results[sets[0]][label]["dims"])]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "What did not pay: GeM pooling, flip averaging (+0.01 for twice the embedding), Lite1 and "
            "Lite2 alone, plain whitening beyond 256 dims without shrinkage, framing without the adaptation. "
            "Ensembles pay about +0.01 over the defaults at 4x the embedding cost, beyond the 2x budget: measured, "
            "not offered.", ""]
    return out

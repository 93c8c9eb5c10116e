"""How well propagation finds the products that really have a value (precision and recall).

Ranks every product by the proposal's similarity to a few examples (the exact plugin query the
review screen uses, with no threshold) and scores that ranking against a ground-truth field,
e.g. two examples of the demo catalog's Hawaiian print (``pattern_s = floral``) against every
other product's ``pattern_s``. Reported: precision and recall at several thresholds, the
threshold with the best F1, R-precision (precision in the top R, R = number of relevant
products), average precision, and how many relevant products rank before the first
irrelevant one. The same numbers are also given with the examples' own variants (their
``group``) left out, because variants of one design are near copies and make the task easy.

``python -m merch.evaluate --collection products --field pattern_s --value floral``
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
import sys
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest
from lookalike.settings import Settings
from merch.catalog import iter_docs
from merch import centering
from merch.propagation import DEFAULT_CENTER_BY, DEFAULT_THRESHOLD, MAX_CANDIDATES, candidates
from merch.records import Proposal
from merch.store import physical_collection
from lookalike.solr_syntax import check_identifier
from query.models import Filter

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def pick_examples(docs: list[dict[str, Any]], field: str, value: str, n: int = 2) -> list[str]:
    """The first product (by id) of each of the first ``n`` designs having the value, in different colours when possible."""
    chosen: list[dict[str, Any]] = []
    for d in sorted(docs, key=lambda d: d["id"]):
        if d.get(field) != value:
            continue
        if any(d.get("group") == c.get("group") for c in chosen):
            continue
        if any(d.get("color_s") == c.get("color_s") for c in chosen) and len(chosen) < n:
            continue
        chosen.append(d)
        if len(chosen) == n:
            break
    return [d["id"] for d in chosen]


def metrics(relevant: np.ndarray, sims: np.ndarray, thresholds: tuple[float, ...] = THRESHOLDS) -> dict[str, Any]:
    """``relevant`` (bool) and ``sims`` in ranking order (best first)."""
    r = int(relevant.sum())
    n = len(relevant)
    hits = np.cumsum(relevant)
    out: dict[str, Any] = {"products": n, "relevant": r}
    if r == 0:
        return out
    out["r_precision"] = round(float(hits[r - 1] / r), 4)
    ranks = np.flatnonzero(relevant) + 1
    out["average_precision"] = round(float(np.mean(hits[ranks - 1] / ranks)), 4)
    first_bad = int(np.argmin(relevant)) if not relevant.all() else n
    out["relevant_before_first_other"] = first_bad
    out["recall_at_r"] = out["r_precision"]
    at = {}
    for t in thresholds:
        k = int((sims >= t).sum())
        tp = int(hits[k - 1]) if k else 0
        at[str(t)] = {"predicted": k, "precision": round(tp / k, 4) if k else None, "recall": round(tp / r, 4)}
    out["at_threshold"] = at
    best = (0.0, None)
    for k in range(1, n + 1):
        p, rec = hits[k - 1] / k, hits[k - 1] / r
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        if f1 > best[0]:
            best = (f1, k)
    k = best[1]
    out["best_f1"] = {"f1": round(best[0], 4), "threshold": round(float(sims[k - 1]), 4), "predicted": k,
                      "precision": round(float(hits[k - 1] / k), 4), "recall": round(float(hits[k - 1] / r), 4)}
    return out


def evaluate(settings: Settings, client: SolrClient, collection: str, *, field: str, value: str,
             positives: list[str] | None = None, combine: str = "mean", within: str | None = None,
             within_value: str | None = None, center_by: str | None = DEFAULT_CENTER_BY) -> dict[str, Any]:
    """Rank the catalog from ``positives`` (default: :func:`pick_examples`) and score it against ``field == value``.

    ``within`` (a string attribute such as ``category_s``) restricts everything to the value of
    it with the most relevant products, as a merchandiser filtering to one category would
    ("Hawaiian shirts"); ``within_value`` names the value instead.
    """
    physical = physical_collection(client, collection)
    extra = f",{check_identifier(within)}" if within else ""
    docs = list(iter_docs(client, physical, fl=f"id,group,color_s,{check_identifier(field)}{extra}"))
    filters: list[Filter] = []
    scope = None
    if within:
        counts = Counter(d.get(within) for d in docs if d.get(field) == value and d.get(within) is not None)
        scope = within_value if within_value is not None else min(counts, key=lambda v: (-counts[v], str(v)))
        docs = [d for d in docs if d.get(within) == scope]
        filters = [Filter(field=within, values=(scope,))]
    truth = {d["id"]: d.get(field) == value for d in docs}
    groups = {d["id"]: d.get("group") for d in docs}
    positives = positives or pick_examples(docs, field, value)
    if not positives:
        raise BadRequest(f"no product has {field}={value!r}" + (f" with {within}={scope!r}" if within else ""))
    center_field = centering.resolve_field(client, physical, center_by) if combine == "mean" else None
    p = Proposal(id="evaluation", collection=physical, attribute="eval_only", field="eval_only_s",
                 value="x", positives=positives, combine=combine, filters=[f.model_dump() for f in filters],
                 center_by=center_field)
    ranked, _ = candidates(settings, client, p, threshold=-1.0, limit=MAX_CANDIDATES)
    ids = [c.id for c in ranked]
    sims = np.array([c.similarity for c in ranked])
    rel = np.array([truth[i] for i in ids])
    example_groups = {groups[i] for i in positives}
    keep = np.array([groups[i] not in example_groups for i in ids])
    return {
        "collection": physical, "field": field, "value": value, "positives": positives, "combine": combine,
        "center_by": center_field, "default_threshold": DEFAULT_THRESHOLD,
        "within": {within: scope} if within else None, "prevalence": round(sum(truth.values()) / max(1, len(truth)), 4),
        "all": metrics(rel, sims),
        "without_example_variants": metrics(rel[keep], sims[keep]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collection", default=None)
    ap.add_argument("--field", default="pattern_s")
    ap.add_argument("--value", default="floral")
    ap.add_argument("--like", nargs="*", default=None)
    ap.add_argument("--combine", default="mean", choices=["max", "mean"])
    ap.add_argument("--within", default=None, help="e.g. category_s: rank only within the category with the most relevant products")
    ap.add_argument("--within-value", default=None, help="with --within: this value instead of the one with the most relevant products")
    ap.add_argument("--center-by", default=DEFAULT_CENTER_BY,
                    help=f"remove each product's average look of this attribute before comparing (default {DEFAULT_CENTER_BY}; none: raw vectors)")
    args = ap.parse_args(argv)
    settings = Settings()
    with SolrClient(settings, role="indexer") as client:
        result = evaluate(settings, client, args.collection or settings.alias, field=args.field, value=args.value,
                          positives=args.like, combine=args.combine, within=args.within,
                          within_value=args.within_value, center_by=args.center_by)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shadow compare: how a candidate index (``lookalike index --no-swap``) would change the answers.

For a seeded sample of products in both the live collection and the candidate, similar-by-id is
asked of each through the real search service (each collection with its own model and PCA), and
the two top-k lists are compared: overlap@k (share in common), Spearman's rho of the shared
products' ranks, the mean per category, and the products whose neighbours change most, with
both lists side by side. ``lookalike promote COLLECTION --min-overlap X`` swaps only when the
mean overlap is at least X. The live alias never changes here.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.settings import Settings
from lookalike.solr import cloud
from query.client import SearchService
from query.models import SimilarRequest
from quality.metrics import overlap_at_k, rank_correlation

CATEGORY = "category"


@dataclass
class Changed:
    id: str
    overlap: float
    live: list[str]
    candidate: list[str]


@dataclass
class ShadowReport:
    alias: str
    live: str
    candidate: str
    sampled: int
    k: int
    overlap: float
    rank_correlation: float | None
    by_category: dict[str, float] = field(default_factory=dict)
    most_changed: list[Changed] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        rho = "-" if self.rank_correlation is None else f"{self.rank_correlation:.3f}"
        lines = [f"{self.candidate} against the live {self.live} (alias {self.alias}), {self.sampled} products, top {self.k}:",
                 f"  overlap@{self.k} {self.overlap:.3f}, rank correlation of the shared products {rho}"]
        if self.by_category:
            lines.append("  overlap by category: " + ", ".join(f"{c} {v:.2f}" for c, v in self.by_category.items()))
        if self.most_changed:
            lines.append("  changed most:")
            for c in self.most_changed:
                lines.append(f"    {c.id} (overlap {c.overlap:.2f}): live {', '.join(c.live[:5])} | candidate {', '.join(c.candidate[:5])}")
        return "\n".join(lines)


def compare(settings: Settings, client: SolrClient, alias: str, candidate: str, *, sample: int = 200,
            k: int = 10, seed: int = 0, show: int = 10) -> ShadowReport:
    live = cloud.alias_target(client, alias)
    if live is None:
        raise NotFound(f"alias {alias} serves nothing yet: promote {candidate} directly")
    if candidate not in cloud.list_collections(client):
        raise NotFound(f"collection {candidate} does not exist")
    if live == candidate:
        raise BadRequest(f"{candidate} is what alias {alias} serves already")
    ids = _shared_ids(client, live, candidate)
    if not ids:
        raise BadRequest(f"{live} and {candidate} have no product in common to compare")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(ids, size=min(sample, len(ids)), replace=False).tolist())
    old, new = SearchService(settings, client, collection=live), SearchService(settings, client, collection=candidate)
    categories = _categories(client, live, chosen)
    rows = []
    for pid in chosen:
        request = SimilarRequest(id=pid, k=k, mode="auto")
        a = [p.id for p in old.similar(request).products]
        b = [p.id for p in new.similar(request).products]
        rows.append((pid, a, b, overlap_at_k(a, b, k), rank_correlation(a, b)))
    by_cat: dict[str, list[float]] = {}
    for pid, _, _, o, _ in rows:
        if categories.get(pid) is not None:
            by_cat.setdefault(str(categories[pid]), []).append(o)
    rhos = [r for *_, r in rows if r is not None]
    worst = sorted(rows, key=lambda r: (r[3], r[0]))[:show]
    return ShadowReport(
        alias=alias, live=live, candidate=candidate, sampled=len(rows), k=k,
        overlap=round(statistics.fmean(r[3] for r in rows), 4),
        rank_correlation=round(statistics.fmean(rhos), 4) if rhos else None,
        by_category={c: round(statistics.fmean(v), 4) for c, v in sorted(by_cat.items())},
        most_changed=[Changed(id=p, overlap=round(o, 4), live=a, candidate=b) for p, a, b, o, _ in worst],
    )


def _shared_ids(client: SolrClient, a: str, b: str, limit: int = 100_000) -> list[str]:
    def ids(name: str) -> set[str]:
        resp = client.select(name, {"q": "*:*", "fl": "id", "rows": limit, "sort": "id asc"})
        return {d["id"] for d in resp["response"]["docs"]}

    return sorted(ids(a) & ids(b))


def _categories(client: SolrClient, collection: str, ids: list[str]) -> dict[str, Any]:
    field_name = f"{CATEGORY}_s"  # a catalog without categories: every product's is None
    docs = cloud.real_time_get(client, collection, ids, fl=f"id,{field_name}")
    return {i: d.get(field_name) for i, d in docs.items()}

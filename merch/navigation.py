"""Shopper-facing visual navigation and preference (read-only).

**Start** (:func:`start`): a diverse set of starting images - the cluster medoids. With filters,
a cluster's representative is its product nearest the cluster's centroid *among the products
that pass the filters* (one exact ``{!lookalike vector=centroid}`` query per cluster, with the
filters and ``cluster:c`` as ``fq``'s); clusters with no such product drop out. When there are
more clusters than places, MMR over the representatives (relevance = the cluster's share of
the catalog) keeps big clusters first and near-identical clusters apart.

**Step** (:func:`step`): the ``pool`` nearest products to the chosen one (exact plugin query,
filters applied, the chosen product and those already seen left out; with ``collapse_groups``
only the best product of each design and none of the chosen one's design), then MMR
(:func:`merch.mmr.mmr_select`) picks ``k`` of them that are near the chosen image *and*
different from each other.

**Preference** (:func:`prefer`): liked products (and disliked ones) define the plugin target
``like=liked unlike=disliked combine=max``: a product scores its best cosine to a liked one
minus ``unlike_weight`` times its best cosine to a disliked one. ``mode=rerank`` orders the
filtered products (a category page) by that score; ``mode=filter`` also drops products
under ``min_similarity``. ``within`` restricts it to a given result list (re-ranking results).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.fields import VECTOR_FIELD
from lookalike.settings import Settings
from merch import clusters as clustering
from merch.filters import filter_queries
from merch.mmr import mmr_select
from merch.store import physical_collection
from lookalike.solr_syntax import any_of, local_params, number, vector_literal
from query.models import Filter

DISPLAY_FL = ("id", "title", "image", "group", "price", "in_stock", "category_s", "pattern_s", "color_s", "cluster")
MAX_K = 60
MAX_POOL = 500


def _item(doc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = {k: doc[k] for k in DISPLAY_FL if k in doc}
    out.update(extra)
    return out


def _ids_param(ids: list[str]) -> str:
    for i in ids:
        if not i or "," in i:
            raise BadRequest(f"product id {i!r} is empty or contains a comma")
    return ",".join(ids)


def start(settings: Settings, client: SolrClient, collection: str, *, k: int = 12,
          filters: list[Filter] | None = None, lambda_: float = 0.5) -> dict[str, Any]:
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K}, got {k}")
    cl = clustering.load(settings, client, collection)
    fqs = filter_queries(client, cl.collection, filters or [])
    fl = ",".join([*DISPLAY_FL, VECTOR_FIELD])
    reps: list[tuple[dict[str, Any], Any]] = []
    if not fqs:
        docs = _get(client, cl.collection, [c.medoid for c in cl.clusters], fl)
        reps = [(docs[c.medoid], c) for c in cl.clusters if c.medoid in docs]
    else:
        for c in cl.clusters:
            params = {"q": local_params("lookalike", f=VECTOR_FIELD, vector="$vec"),
                      "vec": vector_literal(cl.centroids[c.id]),
                      "fq": [*fqs, f"{clustering.CLUSTER_FIELD}:{int(c.id)}"], "rows": 1, "fl": fl}
            found = client.select(cl.collection, params)["response"]["docs"]
            if found:
                reps.append((found[0], c))
    if not reps:
        return {"collection": cl.collection, "items": []}
    rel = np.array([c.size / max(1, cl.count) for _, c in reps])
    vecs = np.asarray([d[VECTOR_FIELD] for d, _ in reps], dtype=np.float32)
    picks = mmr_select(rel, vecs, k, lambda_=lambda_)
    items = [_item(reps[p.index][0], cluster=reps[p.index][1].id, cluster_size=reps[p.index][1].size,
                   cluster_label=reps[p.index][1].label) for p in picks]
    return {"collection": cl.collection, "items": items}


def step(settings: Settings, client: SolrClient, collection: str, product_id: str, *, k: int = 12,
         pool: int = 60, lambda_: float = 0.7, filters: list[Filter] | None = None,
         exclude: list[str] | None = None, collapse_groups: bool = False) -> dict[str, Any]:
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K}, got {k}")
    if not k <= pool <= MAX_POOL:
        raise BadRequest(f"pool must be between k ({k}) and {MAX_POOL}, got {pool}")
    physical = physical_collection(client, collection)
    fqs = filter_queries(client, physical, filters or [])
    excluded = [product_id, *(exclude or [])]
    params = {
        "q": local_params("lookalike", f=VECTOR_FIELD, like="$like"), "like": _ids_param([product_id]),
        "fq": [*fqs, "*:* -" + any_of("id", excluded)], "rows": pool,
        "fl": ",".join([*DISPLAY_FL, VECTOR_FIELD, "score"]), "sort": "score desc,id asc",
    }
    docs = client.select(physical, params)["response"]["docs"]
    if collapse_groups:
        docs = _best_per_group(client, physical, product_id, docs)
    if not docs:
        return {"collection": physical, "chosen": product_id, "items": []}
    rel = np.array([2.0 * float(d["score"]) - 1.0 for d in docs])  # back to cosine units
    vecs = np.asarray([d[VECTOR_FIELD] for d in docs], dtype=np.float32)
    picks = mmr_select(rel, vecs, k, lambda_=lambda_)
    items = [_item(docs[p.index], similarity=round(p.relevance, 6), redundancy=round(p.redundancy, 6))
             for p in picks]
    return {"collection": physical, "chosen": product_id, "lambda": lambda_, "pool": len(docs), "items": items}


def prefer(settings: Settings, client: SolrClient, collection: str, *, liked: list[str],
           disliked: list[str] | None = None, filters: list[Filter] | None = None, mode: str = "rerank",
           min_similarity: float | None = None, unlike_weight: float = 0.5, k: int = 24,
           within: list[str] | None = None) -> dict[str, Any]:
    if not liked:
        raise BadRequest("like at least one product to define a preference")
    if mode not in ("rerank", "filter"):
        raise BadRequest(f"mode must be rerank or filter, got {mode!r}")
    if mode == "filter" and min_similarity is None:
        raise BadRequest("mode=filter needs min_similarity (a cosine between -1 and 1)")
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        raise BadRequest(f"min_similarity is a cosine between -1 and 1, got {min_similarity}")
    if not 1 <= k <= 200:
        raise BadRequest(f"k must be between 1 and 200, got {k}")
    disliked = list(disliked or [])
    physical = physical_collection(client, collection)
    fqs = filter_queries(client, physical, filters or [])
    lp: dict[str, Any] = {"f": VECTOR_FIELD, "like": "$like", "combine": "max"}
    params: dict[str, Any] = {"like": _ids_param(liked)}
    if disliked:
        lp.update(unlike="$unlike", unlikeWeight=number(unlike_weight))
        params["unlike"] = _ids_param(disliked)
    if mode == "filter":
        lp["minSimilarity"] = number(min_similarity)
    fqs.append("*:* -" + any_of("id", liked + disliked))
    if within:
        fqs.append(any_of("id", within))
    params.update({"q": local_params("lookalike", **lp), "fq": fqs, "rows": k,
                   "fl": ",".join([*DISPLAY_FL, "score"]), "sort": "score desc,id asc"})
    resp = client.select(physical, params)["response"]
    items = [_item(d, preference=round(2.0 * float(d["score"]) - 1.0, 6)) for d in resp["docs"]]
    return {"collection": physical, "mode": mode, "total": int(resp["numFound"]), "items": items}


def _best_per_group(client: SolrClient, collection: str, chosen: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best-ranked product of each design (``group``), the chosen product's own design left out."""
    from merch.catalog import get_docs

    own = get_docs(client, collection, [chosen], fl="id,group").get(chosen, {}).get("group")
    seen: set[Any] = {own} if own is not None else set()
    out = []
    for d in docs:
        g = d.get("group")
        if g is not None and g in seen:
            continue
        if g is not None:
            seen.add(g)
        out.append(d)
    return out


def _get(client: SolrClient, collection: str, ids: list[str], fl: str) -> dict[str, dict[str, Any]]:
    from merch.catalog import get_docs

    docs = get_docs(client, collection, ids, fl=fl)
    if not docs and ids:
        raise NotFound(f"none of the cluster medoids is in {collection} any more: rebuild the clusters")
    return docs

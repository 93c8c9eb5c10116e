"""``lookalike clusters build``: cluster the catalog, store ids, medoids, sizes and what each cluster is.

Steps: read every product's vector (cursorMark paging, ``fl=id,vector`` plus the string
attributes), cluster with :class:`merch.kmeans.CatalogClusterer`, write each product's
``cluster`` with atomic updates (products outside a ``--filter`` lose a stale id), then ask
Solr which attribute values each cluster over-represents: one JSON-facet request with a terms
facet per (cluster, attribute), sorted by ``relatedness($fore_c, $back)`` where ``fore_c`` is
``cluster:c`` and ``back`` is the whole catalog (``*:*``). Relatedness is Solr's z-score
based measure in -1..1: positive when the value is more common in the cluster than in the
catalog. Beside it, each cluster lists how many of its products *lack* each attribute, so a
merchandiser sees what the cluster is and what it is missing. The result is stored in the
metadata collection as ``clusters:<physical collection>`` (see :mod:`merch.store`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import NotFound
from lookalike.fields import attribute_name
from lookalike.settings import Settings
from merch.catalog import iter_docs, read_vectors, write_updates
from merch.filters import filter_queries
from merch.kmeans import CatalogClusterer
from merch.provenance import is_provenance_field
from merch.store import MerchStore, now, physical_collection
from lookalike.solr_syntax import check_identifier
from query.models import Filter

log = logging.getLogger(__name__)

CLUSTER_FIELD = "cluster"
ATTRIBUTE_GLOBS = ("*_s", "*_ss", "*_b")
TOP_VALUES = 5


@dataclass
class ClusterInfo:
    id: int
    size: int
    medoid: str
    over: list[dict[str, Any]] = field(default_factory=list)  # over-represented values
    missing: dict[str, int] = field(default_factory=dict)  # attribute -> members lacking it
    label: str | None = None  # set when the cluster is tagged


@dataclass
class Clustering:
    collection: str
    k: int
    k_rule: str
    algorithm: str
    count: int
    created: str
    filters: list[str] = field(default_factory=list)
    silhouettes: dict[str, float] = field(default_factory=dict)
    clusters: list[ClusterInfo] = field(default_factory=list)
    centroids: list[list[float]] = field(default_factory=list)
    without_vector: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self, *, centroids: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not centroids:
            d.pop("centroids")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Clustering":
        d = dict(d)
        d["clusters"] = [ClusterInfo(**c) for c in d.get("clusters", [])]
        return cls(**d)

    def cluster(self, cid: int) -> ClusterInfo:
        for c in self.clusters:
            if c.id == cid:
                return c
        raise NotFound(f"there is no cluster {cid} in {self.collection} (clusters 0..{self.k - 1})")


# -- pure pieces -------------------------------------------------------------------------------
def attribute_fields(docs: list[dict[str, Any]]) -> list[str]:
    """String and boolean attribute fields present in the documents (provenance fields aside)."""
    names = {f for d in docs for f in d if f.endswith(("_s", "_ss", "_b")) and not is_provenance_field(f)}
    return sorted(check_identifier(n) for n in names)


def missing_counts(docs: list[dict[str, Any]], labels: np.ndarray, fields: list[str], k: int) -> list[dict[str, int]]:
    """Per cluster: how many members lack each attribute (only attributes some member lacks)."""
    out: list[dict[str, int]] = [{} for _ in range(k)]
    for doc, c in zip(docs, labels):
        for f in fields:
            if doc.get(f) in (None, []):
                name = attribute_name(f)
                out[c][name] = out[c].get(name, 0) + 1
    return [dict(sorted(m.items())) for m in out]


def relatedness_params(k: int, fields: list[str], *, top: int = TOP_VALUES) -> dict[str, Any]:
    """One request: per cluster and attribute, the values sorted by relatedness to the cluster."""
    facets: dict[str, Any] = {}
    params: dict[str, Any] = {"q": "*:*", "rows": 0, "back": "*:*"}
    for c in range(k):
        params[f"fore{c}"] = f"{CLUSTER_FIELD}:{int(c)}"
        for f in fields:
            facets[f"c{c}__{check_identifier(f)}"] = {
                "type": "terms", "field": f, "limit": top, "sort": {"r": "desc"}, "mincount": 1,
                "facet": {"r": f"relatedness($fore{c},$back)"},
            }
    params["json.facet"] = json.dumps(facets)
    return params


def parse_relatedness(resp: dict[str, Any], k: int, fields: list[str], sizes: list[int]) -> list[list[dict[str, Any]]]:
    """Over-represented values per cluster: relatedness > 0, best first, with counts and shares."""
    total = int(resp["response"]["numFound"])
    facets = resp.get("facets", {})
    out: list[list[dict[str, Any]]] = [[] for _ in range(k)]
    for c in range(k):
        for f in fields:
            for b in facets.get(f"c{c}__{f}", {}).get("buckets", []):
                r = b.get("r") or {}
                rel = r.get("relatedness")
                in_cluster = round(float(r.get("foreground_popularity", 0.0)) * total)
                if rel is None or rel <= 0 or in_cluster == 0:
                    continue
                val = b["val"]
                out[c].append({
                    "attribute": attribute_name(f), "field": f,
                    "value": val if not isinstance(val, bool) else str(val).lower(),
                    "relatedness": round(float(rel), 5),
                    "in_cluster": in_cluster, "in_catalog": int(b["count"]),
                    "cluster_share": round(in_cluster / max(1, sizes[c]), 4),
                    "catalog_share": round(int(b["count"]) / max(1, total), 4),
                })
        out[c].sort(key=lambda o: (-o["relatedness"], o["field"], str(o["value"])))
    return out


# -- the job -----------------------------------------------------------------------------------
def build(settings: Settings, client: SolrClient, collection: str, *, k: int | None = None,
          filters: list[Filter] | None = None, random_state: int = 0, top: int = TOP_VALUES) -> Clustering:
    physical = physical_collection(client, collection)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    fqs = filter_queries(client, physical, filters or [])
    ids, vectors, docs = read_vectors(client, physical, fq=fqs, extra_fl=ATTRIBUTE_GLOBS)
    all_count = sum(1 for _ in iter_docs(client, physical, fl="id", fq=fqs))
    timings["read_s"] = time.perf_counter() - t
    if not ids:
        raise NotFound(f"no product with a vector in {collection}" + (" matches the filters" if fqs else ""))

    t = time.perf_counter()
    model = CatalogClusterer(k=k, random_state=random_state).fit(vectors)
    timings["cluster_s"] = time.perf_counter() - t

    t = time.perf_counter()
    chosen = set(ids)
    updates = [{"id": i, CLUSTER_FIELD: {"set": int(c)}} for i, c in zip(ids, model.labels_)]
    stale = [d["id"] for d in iter_docs(client, physical, fl="id", fq=[f"{CLUSTER_FIELD}:[* TO *]"])
             if d["id"] not in chosen]
    updates += [{"id": i, CLUSTER_FIELD: {"set": None}} for i in stale]
    write_updates(client, physical, updates)
    timings["write_s"] = time.perf_counter() - t

    t = time.perf_counter()
    fields = attribute_fields(docs)
    over: list[list[dict[str, Any]]] = [[] for _ in range(model.k_)]
    if fields:
        resp = client.select(physical, relatedness_params(model.k_, fields, top=top))
        over = parse_relatedness(resp, model.k_, fields, list(model.sizes_))
    missing = missing_counts(docs, model.labels_, fields, model.k_)
    timings["describe_s"] = time.perf_counter() - t

    result = Clustering(
        collection=physical, k=model.k_, k_rule=model.k_rule_, algorithm=model.algorithm_, count=len(ids),
        created=now(), filters=[f.model_dump_json() for f in filters or []],
        silhouettes={str(kk): round(v, 5) for kk, v in model.silhouettes_.items()},
        clusters=[ClusterInfo(int(c), int(model.sizes_[c]), ids[model.medoids_[c]], over[c], missing[c])
                  for c in range(model.k_)],
        centroids=[[round(float(x), 6) for x in row] for row in model.centers_],
        without_vector=all_count - len(ids), timings_s={n: round(v, 3) for n, v in timings.items()},
    )
    store = MerchStore(client, settings)
    store.put("clusters", physical, result.as_dict(), collection_s=physical, created_s=result.created)
    if not fqs:  # the whole catalog was read: cache the category means propagation centres on
        from merch import centering

        by = centering.resolve_field(client, physical, centering.DEFAULT_BY)
        if by:
            centering.build(settings, client, physical, by, vectors=vectors,
                            values=[d.get(by) for d in docs], products=all_count)
    log.info("clustered %d products of %s into %d clusters (%s)", len(ids), physical, model.k_, model.k_rule_)
    return result


def load(settings: Settings, client: SolrClient, collection: str) -> Clustering:
    physical = physical_collection(client, collection)
    record = MerchStore(client, settings).get("clusters", physical)
    if record is None:
        raise NotFound(f"{collection} has not been clustered: run `lookalike clusters build --collection {collection}`")
    return Clustering.from_dict(record)


MEMBER_FIELDS = "id,title,category_s,group"


def members(settings: Settings, client: SolrClient, collection: str, cluster_id: int, *, page: int = 1,
            rows: int = 48) -> dict[str, Any]:
    """One page of a cluster's products (id order), for browsing its thumbnails."""
    cl = load(settings, client, collection)
    info = cl.cluster(int(cluster_id))
    page, rows = max(1, int(page)), max(1, min(int(rows), 200))
    resp = client.select(cl.collection, {"q": "*:*", "fq": f"{CLUSTER_FIELD}:{int(info.id)}", "fl": MEMBER_FIELDS,
                                         "rows": rows, "start": (page - 1) * rows, "sort": "id asc"})
    total = int(resp["response"]["numFound"])
    return {"cluster": info.id, "label": info.label, "medoid": info.medoid, "total": total, "page": page,
            "rows": rows, "pages": max(1, -(-total // rows)),
            "products": [{"id": d["id"], "title": d.get("title"), "category": d.get("category_s")}
                         for d in resp["response"]["docs"]]}


def save(settings: Settings, client: SolrClient, clustering: Clustering) -> None:
    MerchStore(client, settings).put("clusters", clustering.collection, clustering.as_dict(),
                                     collection_s=clustering.collection, created_s=clustering.created)

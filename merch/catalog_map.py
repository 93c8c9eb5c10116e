"""The catalog map: every product laid out in two dimensions by visual similarity.

The layout is scikit-learn's t-SNE (Barnes-Hut, PCA start, seeded) of the products' unit vectors
after a PCA to at most 50 dimensions: products that look alike land close together, so the
map shows at a glance what the catalog holds. umap-learn is not in the package lists this
project may install from; t-SNE comes with scikit-learn, which merchandising uses already.

**Size.** t-SNE costs about n log n; past ``LOOKALIKE_MAP_MAX_POINTS`` products (5,000) the map
lays out and shows a seeded random sample of that many and says so, so 100k products take
as long as 5,000 (reading the ids and vectors is the rest).

**Cache.** A layout is computed once per index version: one record per physical collection
behind the alias in the merchandising store, laid out again when the collection's product
count (an upsert or delete changes it) or the sample size differs. Cluster ids and whether each product has an attribute are read fresh at every request
(a batch changes them; the positions stay).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.settings import Settings
from lookalike.solr_syntax import local_params
from merch.catalog import count, read_vectors
from merch.clusters import CLUSTER_FIELD
from merch.filters import load_schema
from merch.store import MerchStore, now, physical_collection
from merch.vectors import normalize
from query.schema import INTERNAL_FIELDS

log = logging.getLogger(__name__)

KIND = "map"
PCA_DIMS = 50
TSNE_ITERATIONS = 500
ATTRIBUTE_KINDS = ("string", "boolean")
ID_CHUNK = 1000


def layout(vectors: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """2-D positions in 0..1 (both axes scaled alike) for rows of ``vectors`` (pure)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    if n < 4:  # too few for t-SNE's neighbourhoods: a line is the honest layout
        xy = np.column_stack([np.linspace(0, 1, n), np.full(n, 0.5)])
        return xy if n > 1 else np.full((1, 2), 0.5)
    x = normalize(np.asarray(vectors, dtype=np.float32)).astype(np.float64)
    dims = min(PCA_DIMS, x.shape[1], n - 1)
    if dims < x.shape[1]:
        x = PCA(n_components=dims, random_state=seed).fit_transform(x)
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    xy = TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity,
              max_iter=max(250, TSNE_ITERATIONS)).fit_transform(x)
    xy -= xy.min(axis=0)
    span = float(xy.max()) or 1.0
    xy /= span
    xy += (1.0 - xy.max(axis=0)) / 2.0  # centre the shorter axis
    return xy


def sample_rows(n: int, limit: int, *, seed: int = 0) -> np.ndarray:
    """Row indices of a seeded random sample of at most ``limit`` of ``n`` rows, in order (pure)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def attribute_fields(client: SolrClient, collection: str) -> dict[str, str]:
    """Attribute name -> field, for colouring by present / missing (string and boolean attributes)."""
    from lookalike.fields import attribute_name
    from merch.provenance import is_provenance_field

    schema = load_schema(client, collection)
    out = {}
    for name, info in sorted(schema.fields.items()):
        if info.kind in ATTRIBUTE_KINDS and name != "id" and name not in INTERNAL_FIELDS \
                and not is_provenance_field(name) and name not in ("title", "group") and not name.startswith("_"):
            out[attribute_name(name)] = name
    return out


def _cached(settings: Settings, client: SolrClient, physical: str, max_points: int) -> dict[str, Any]:
    store = MerchStore(client, settings)
    products = count(client, physical)
    record = store.get(KIND, physical)  # one record per collection, replaced when its version changes
    if record is not None and record.get("products") == products and record.get("max_points") == max_points:
        return record
    t = time.perf_counter()
    ids, vectors, _ = read_vectors(client, physical)
    if not ids:
        raise NotFound(f"no product with a vector in {physical}: index a catalog first")
    rows = sample_rows(len(ids), max_points)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    xy = layout(vectors[rows])
    record = {"collection": physical, "products": products, "max_points": max_points, "with_vector": len(ids),
              "created": now(),
              "ids": [ids[i] for i in rows], "xy": [[round(float(a), 5), round(float(b), 5)] for a, b in xy],
              "timings_s": {"read_s": round(read_s, 3), "layout_s": round(time.perf_counter() - t, 3)},
              "method": f"t-SNE (scikit-learn, PCA to {PCA_DIMS} first)"}
    store.put(KIND, physical, record, collection_s=physical, created_s=record["created"])
    log.info("laid out %d of %d products of %s in %.1f s", len(rows), len(ids), physical,
             record["timings_s"]["layout_s"])
    return record


def _flags(client: SolrClient, collection: str, ids: list[str], fq: str) -> set[str]:
    """Which of ``ids`` match ``fq`` (one terms query per chunk of ids)."""
    out: set[str] = set()
    for i in range(0, len(ids), ID_CHUNK):
        chunk = ids[i : i + ID_CHUNK]
        resp = client.select(collection, {"q": local_params("terms", f="id", v="$mapids"), "mapids": ",".join(chunk),
                                          "fq": fq, "fl": "id", "rows": len(chunk)})
        out.update(d["id"] for d in resp["response"]["docs"])
    return out


def catalog_map(settings: Settings, client: SolrClient, collection: str, *,
                attribute: str | None = None) -> dict[str, Any]:
    """The map of ``collection``: positions (cached per index version), each product's cluster and,
    with ``attribute``, whether it has a value of it."""
    physical = physical_collection(client, collection)
    fields = attribute_fields(client, physical)
    field = None
    if attribute:
        field = fields.get(attribute) or (attribute if attribute in fields.values() else None)
        if field is None:
            raise BadRequest(f"unknown attribute {attribute!r}: colour by one of {', '.join(fields) or 'none'}")
    rec = _cached(settings, client, physical, settings.map_max_points)
    ids = rec["ids"]
    clusters: dict[str, int] = {}
    titles: dict[str, str] = {}
    for i in range(0, len(ids), ID_CHUNK):
        chunk = ids[i : i + ID_CHUNK]
        resp = client.select(physical, {"q": local_params("terms", f="id", v="$mapids"), "mapids": ",".join(chunk),
                                        "fl": f"id,title,{CLUSTER_FIELD}", "rows": len(chunk)})
        for d in resp["response"]["docs"]:
            if CLUSTER_FIELD in d:
                clusters[d["id"]] = d[CLUSTER_FIELD]
            titles[d["id"]] = d.get("title") or ""
    has = _flags(client, physical, ids, f"{field}:[* TO *]") if field else set()
    points = [[pid, xy[0], xy[1], clusters.get(pid, -1), (1 if pid in has else 0) if field else None,
               titles.get(pid, "")] for pid, xy in zip(ids, rec["xy"])]
    return {"collection": physical, "products": rec["products"], "with_vector": rec["with_vector"],
            "shown": len(ids), "sampled": len(ids) < rec["with_vector"], "method": rec["method"],
            "created": rec["created"], "timings_s": rec["timings_s"], "attributes": sorted(fields),
            "attribute": attribute or None, "missing": sum(1 for p in points if p[4] == 0) if field else None,
            "clusters": len({c for c in clusters.values()}),
            "fields": ["id", "x", "y", "cluster", "has", "title"], "points": points}

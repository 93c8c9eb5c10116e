"""A hand-made catalog for the merchandising tests, with everything numpy needs to check Solr.

Vectors (dim 8) point along one of three "pattern" directions plus noise; a quarter of the
products lack ``pattern_s``, a few have it set by a human explicitly, two have no vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from merch.catalog import iter_docs
from merch.store import MerchStore

DIMS = 8
N = 96
PATTERNS = ("solid", "stripes", "hawaiian")
CATEGORIES = ("shirt", "hat")


def unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


@dataclass
class Catalog:
    name: str
    ids: list[str]
    vectors: np.ndarray  # unit float32 rows, in id order
    docs: dict[str, dict]

    def vec(self, i: str) -> np.ndarray:
        return self.vectors[self.ids.index(i)]

    def sims(self, like: list[str], unlike: list[str] = (), weight: float = 1.0, combine: str = "max") -> np.ndarray:
        v = self.vectors.astype(np.float64)
        targets = unit(np.array([self.vec(i) for i in like], dtype=np.float64))
        if combine == "mean":
            targets = unit(targets.mean(axis=0))[None, :]
        s = (v @ targets.T).max(1)
        if unlike:
            s = s - weight * (v @ unit(np.array([self.vec(i) for i in unlike], dtype=np.float64)).T).max(1)
        return s


def make_catalog(solr, collection_factory, shards: int = 1) -> Catalog:
    name = collection_factory(dims=DIMS, shards=shards)
    rng = np.random.default_rng(7)
    ids, vecs, docs = [], [], {}
    for i in range(N):
        pid = f"p{i:03d}"
        v = unit(np.eye(DIMS)[i % 3] * 2.0 + 0.35 * rng.standard_normal(DIMS)).astype(np.float32)
        doc = {"id": pid, "title": f"product {i}", "group": f"g{i // 4:02d}", "category_s": CATEGORIES[(i // 3) % 2],
               "price": float(10 + i), "model": "test-model", "pca_version": "pca-1", "vector": [float(x) for x in v]}
        if i % 4:
            doc["pattern_s"] = PATTERNS[i % 3]
        if i % 12 == 1:
            doc["pattern_src_s"] = "human"
        if i % 10 == 3:
            doc["tags_ss"] = ["summer", "sale"]
        ids.append(pid)
        vecs.append(v)
        docs[pid] = doc
    extra = [{"id": "nv1", "title": "no vector", "category_s": "hat"}, {"id": "nv2", "title": "no vector either"}]
    solr.client.add(name, list(docs.values()) + extra, commit=True)
    MerchStore(solr.client, solr.settings).ensure()
    return Catalog(name, ids, np.array(vecs, dtype=np.float32), docs)


def snapshot(solr, name: str) -> dict[str, dict]:
    return {d["id"]: {k: v for k, v in d.items() if k != "_version_"} for d in iter_docs(solr.client, name, fl="*")}


def gap_threshold(sims: np.ndarray, near: float) -> float:
    """A threshold near ``near`` that no similarity comes within 1e-3 of (so rounding cannot decide)."""
    values = np.sort(sims)
    mids = [(abs((a + b) / 2 - near), (a + b) / 2) for a, b in zip(values, values[1:]) if b - a > 2e-3]
    return float(min(mids)[1])

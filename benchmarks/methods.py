"""In-process nearest-neighbour methods behind one small interface.

Every method indexes the same L2-normalised vectors and answers top-k by cosine (inner
product; for the trees, Euclidean distance, which ranks unit vectors identically).

``filter_mode`` says how a method applies an attribute filter:
``pre`` (only the passing documents are considered: numpy's gather, FAISS's ID selector,
hnswlib's filter callback) or ``none`` (the trees: no filter support; measured unfiltered).

Threads: index builds and batch searches use every core; a single query runs on one thread
(FAISS's OpenMP here, numpy's BLAS through threadpoolctl in ``inmemory``).
"""

from __future__ import annotations

import io
import os
import pickle
import time
from typing import Any

import numpy as np

from benchmarks.metrics import exact_topk


class Method:
    name = "?"
    family = "?"
    filter_mode = "pre"
    exact = False

    def __init__(self, **params: Any):
        self.params = params

    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({extra})" if extra else self.name

    def build(self, docs: np.ndarray) -> None:
        raise NotImplementedError

    def set_search_param(self, **kw: Any) -> None:
        self.params.update(kw)

    def search(self, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def index_bytes(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


class NumpyExact(Method):
    name = "numpy exact"
    family = "exact"
    exact = True

    def build(self, docs):
        self.docs = np.ascontiguousarray(docs, dtype=np.float32)
        self._subsets: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _subset(self, mask):
        key = id(mask)
        if key not in self._subsets:
            ids = np.flatnonzero(mask)
            self._subsets[key] = (ids, np.ascontiguousarray(self.docs[ids]))
        return self._subsets[key]

    def search(self, queries, k, mask=None):
        if mask is None or mask.all():
            return exact_topk(queries, self.docs, k)[0]
        # a filter cache, as Solr keeps one: the passing rows gathered once, then scanned
        ids, sub = self._subset(mask)
        found = exact_topk(queries, sub, k)[0]
        return np.where(found >= 0, ids[np.clip(found, 0, None)], -1)

    def index_bytes(self):
        return self.docs.nbytes


class SklearnTree(Method):
    family = "tree"
    filter_mode = "none"
    exact = True

    def __init__(self, kind: str, **params):
        super().__init__(**params)
        self.kind = kind
        self.name = f"sklearn {kind}"

    def build(self, docs):
        from sklearn.neighbors import BallTree, KDTree

        cls = KDTree if self.kind == "KDTree" else BallTree
        self.tree = cls(np.asarray(docs, dtype=np.float32), leaf_size=self.params.get("leaf_size", 40))

    def search(self, queries, k, mask=None):
        return self.tree.query(queries, k=k, return_distance=False)

    def index_bytes(self):
        buf = io.BytesIO()
        pickle.dump(self.tree, buf, protocol=5)
        return buf.tell()


class FaissFlat(Method):
    name = "faiss IndexFlatIP"
    family = "exact"
    exact = True

    def build(self, docs):
        import faiss

        self.index = faiss.IndexFlatIP(docs.shape[1])
        self.index.add(np.ascontiguousarray(docs, dtype=np.float32))

    def search(self, queries, k, mask=None):
        return _faiss_search(self.index, queries, k, mask, None)

    def index_bytes(self):
        return self.index.ntotal * self.index.d * 4


def _faiss_search(index, queries, k, mask, hnsw_ef):
    import faiss

    # One query: one OpenMP thread (on a busy 2-core machine spinning OpenMP workers cost more
    # than they give for a single query); batches (the recall runs) use every core.
    faiss.omp_set_num_threads(1 if len(queries) == 1 else os.cpu_count() or 1)

    if mask is None and hnsw_ef is None:
        return index.search(queries, k)[1]
    if hnsw_ef is not None:
        params = faiss.SearchParametersHNSW()
        params.efSearch = int(hnsw_ef)
    else:
        params = faiss.SearchParameters()
    if mask is not None and not mask.all():
        bits = np.packbits(mask, bitorder="little")
        params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        _keep = bits  # noqa: F841  (the selector points into this array)
        return index.search(queries, k, params=params)[1]
    return index.search(queries, k, params=params)[1]


class FaissHNSW(Method):
    name = "faiss IndexHNSWFlat"
    family = "hnsw"

    def build(self, docs):
        import faiss

        self.index = faiss.IndexHNSWFlat(docs.shape[1], self.params.get("M", 32), faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.params.get("efConstruction", 40)
        self.index.add(np.ascontiguousarray(docs, dtype=np.float32))

    def search(self, queries, k, mask=None):
        return _faiss_search(self.index, queries, k, mask, self.params.get("efSearch", 64))

    def index_bytes(self):
        import faiss

        return len(faiss.serialize_index(self.index))


class Hnswlib(Method):
    name = "hnswlib"
    family = "hnsw"

    def build(self, docs):
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=docs.shape[1])
        self.index.init_index(
            max_elements=docs.shape[0], M=self.params.get("M", 16), ef_construction=self.params.get("ef_construction", 100)
        )
        self.index.add_items(np.ascontiguousarray(docs, dtype=np.float32), num_threads=-1)

    def search(self, queries, k, mask=None):
        self.index.set_ef(max(k, int(self.params.get("ef", 64))))
        flt = None
        if mask is not None and not mask.all():
            flt = mask.__getitem__
        try:
            labels, _ = self.index.knn_query(queries, k=k, filter=flt, num_threads=1 if flt else -1)
        except RuntimeError:  # fewer than k reachable under the filter
            return np.full((len(queries), k), -1, np.int64)
        return labels.astype(np.int64)

    def index_bytes(self):
        return self.index.index_file_size()


def timed_build(method: Method, docs: np.ndarray) -> dict[str, float]:
    import psutil

    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    method.build(docs)
    build_s = time.perf_counter() - t0
    rss1 = proc.memory_info().rss
    return {
        "build_s": build_s,
        "build_docs_per_s": docs.shape[0] / build_s if build_s > 0.01 else None,  # None: nothing to build
        "rss_delta_mb": (rss1 - rss0) / 2**20,
        "index_mb": method.index_bytes() / 2**20,
    }

"""Synthetic benchmark vectors: a clustered 2048-d Gaussian mixture, reduced by PCA.

What is generated (deterministic from ``seed``):

* A three-level mixture in 2048 dimensions, like a catalog: ``n_clusters`` categories,
  designs of ``variants`` products inside a category, and the products themselves.
  ``x = category + design + item``, each level an independent Gaussian whose per-axis
  variance follows a power law ``lambda_i ~ (i+1)^-alpha`` (CNN embeddings have such a
  decaying spectrum: with ``alpha=1`` the first 256 of 2048 axes hold about three quarters
  of the variance).
* The mixture is generated directly in its eigenbasis. A random rotation ``Q`` would make
  it look less axis-aligned, but every measure here (inner products, PCA, neighbours) is
  invariant under an orthogonal ``Q``, so it is left out: same results, less work.
* PCA (scikit-learn, fitted on the first ``pca_fit_docs`` documents) to 1024 components;
  the 512-, 256- and 128-d versions are prefixes of the same projection (PCA components are
  nested). Every width is L2-normalised after truncation, as the indexer does.
* The "full" space for the PCA-quality measure is the 2048-d vectors centred with the PCA
  mean and L2-normalised (a rotation of PCA-to-2048), so the overlap measure isolates what
  dropping dimensions costs. The full 2048-d matrix is never stored: it is generated chunk
  by chunk (``chunk_docs`` rows, 10k x 2048 float32 = 80 MB), projected, and scanned against
  the queries on the way, so memory stays at a few hundred MB even at 1M documents.
* Queries are held out: extra variants of designs that are in the index (a shopper's photo
  of a product the catalog sells), ``queries_per_chunk`` from each of the first chunks, so
  the smaller sizes (prefixes of the largest) have the same queries.
* ``bucket``: a uniform random integer in [0, 1000) per document, independent of the
  vectors. A filter of selectivity s keeps ``bucket < 1000*s`` (100%, 10%, 1%, 0.1%).

Everything is cached under ``<data_dir>/bench/<spec key>/`` as raw float32 files opened with
``numpy.memmap``; a finished cache is marked by ``meta.json`` written last.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FULL_DIMS = 2048
WIDTHS = (1024, 512, 256, 128)
SELECTIVITIES = (1.0, 0.1, 0.01, 0.001)
BUCKETS = 1000


@dataclass(frozen=True)
class DataSpec:
    n_docs: int  # the largest size; smaller sizes are prefixes
    sizes: tuple[int, ...]
    n_queries: int = 1000
    full_dims: int = FULL_DIMS
    widths: tuple[int, ...] = WIDTHS
    n_clusters: int = 1000
    variants: int = 4
    alpha: float = 1.0
    scale_cluster: float = 1.0
    scale_design: float = 0.7
    scale_item: float = 0.5
    chunk_docs: int = 10_000
    pca_fit_docs: int = 50_000
    full_topk: int = 100
    seed: int = 20_261_123
    version: int = 1

    def __post_init__(self) -> None:
        if self.n_docs % self.chunk_docs:
            raise ValueError(f"n_docs must be a multiple of chunk_docs ({self.chunk_docs}), got {self.n_docs}")
        if max(self.sizes) != self.n_docs or any(s % self.chunk_docs for s in self.sizes):
            raise ValueError(f"sizes must be multiples of {self.chunk_docs} and end at n_docs: {self.sizes}")
        if self.query_chunks * self.chunk_docs > min(self.sizes):
            raise ValueError("the queries must come from inside the smallest size")

    @property
    def query_chunks(self) -> int:
        return max(1, min(10, min(self.sizes) // self.chunk_docs))

    @property
    def queries_per_chunk(self) -> int:
        return -(-self.n_queries // self.query_chunks)

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return f"n{self.n_docs}-{hashlib.sha256(blob).hexdigest()[:10]}"


@dataclass
class Dataset:
    """Memory-mapped views of one cached dataset."""

    spec: DataSpec
    root: Path
    meta: dict = field(default_factory=dict)

    def vectors(self, width: int, size: int | None = None) -> np.ndarray:
        n = size or self.spec.n_docs
        mm = np.memmap(self.root / f"docs_{width}.f32", dtype=np.float32, mode="r", shape=(self.spec.n_docs, width))
        return mm[:n]

    def queries(self, width: int | str) -> np.ndarray:
        return np.load(self.root / f"queries_{width}.npy")

    def buckets(self, size: int | None = None) -> np.ndarray:
        return np.load(self.root / "buckets.npy", mmap_mode="r")[: size or self.spec.n_docs]

    def groups(self, size: int | None = None) -> np.ndarray:
        return np.load(self.root / "groups.npy", mmap_mode="r")[: size or self.spec.n_docs]

    def full_neighbours(self, size: int) -> np.ndarray:
        """Top-``full_topk`` ids of each query in the centred, normalised 2048-d space."""
        return np.load(self.root / f"full_top_{size}.npy")

    def filter_mask(self, selectivity: float, size: int | None = None) -> np.ndarray:
        return np.asarray(self.buckets(size)) < bucket_limit(selectivity)


def bucket_limit(selectivity: float) -> int:
    """Documents with ``bucket < limit`` pass a filter of this selectivity."""
    return max(1, round(BUCKETS * selectivity))


def _spectrum(spec: DataSpec) -> np.ndarray:
    lam = (np.arange(spec.full_dims, dtype=np.float64) + 1.0) ** -spec.alpha
    return np.sqrt(lam / lam.sum() * spec.full_dims).astype(np.float32)  # per-axis std, mean variance 1


def _chunk_rng(spec: DataSpec, chunk: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, 1, chunk])


def _cluster_centres(spec: DataSpec, std: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng([spec.seed, 0])
    return rng.standard_normal((spec.n_clusters, spec.full_dims), dtype=np.float32) * (std * spec.scale_cluster)


def generate_chunk(spec: DataSpec, chunk: int, centres: np.ndarray, std: np.ndarray, *, with_queries: bool = False):
    """Rows ``chunk*chunk_docs ...`` of the 2048-d mixture, plus their ids of design and bucket.

    Returns ``(docs, designs, buckets, queries)`` where ``queries`` is None unless asked.
    Designs are wholly inside one chunk, so each chunk is generated independently.
    """
    rng = _chunk_rng(spec, chunk)
    n = spec.chunk_docs
    n_designs = n // spec.variants
    design_cluster = rng.integers(0, spec.n_clusters, n_designs)
    design_vec = centres[design_cluster] + rng.standard_normal((n_designs, spec.full_dims), dtype=np.float32) * (
        std * spec.scale_design
    )
    local_design = np.repeat(np.arange(n_designs), spec.variants)
    docs = design_vec[local_design]
    docs += rng.standard_normal((n, spec.full_dims), dtype=np.float32) * (std * spec.scale_item)
    buckets = rng.integers(0, BUCKETS, n).astype(np.int32)
    designs = (local_design + chunk * n_designs).astype(np.int64)
    queries = None
    if with_queries:
        q_design = rng.choice(n_designs, spec.queries_per_chunk, replace=False)
        queries = design_vec[q_design] + rng.standard_normal(
            (spec.queries_per_chunk, spec.full_dims), dtype=np.float32
        ) * (std * spec.scale_item)
    return docs, designs, buckets, queries


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def _merge_topk(best_s: np.ndarray, best_i: np.ndarray, scores: np.ndarray, offset: int, k: int):
    """Keep the ``k`` best (highest) scores per row across the running best and a new block."""
    kk = min(k, scores.shape[1])
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    s = np.concatenate([best_s, np.take_along_axis(scores, part, axis=1)], axis=1)
    i = np.concatenate([best_i, part + offset], axis=1)
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, top, axis=1), np.take_along_axis(i, top, axis=1)


def build(spec: DataSpec, data_dir: Path) -> Dataset:
    """Generate (or open the cached) dataset for ``spec`` under ``data_dir/bench``."""
    from sklearn.decomposition import PCA

    root = Path(data_dir) / "bench" / spec.key()
    meta_path = root / "meta.json"
    if meta_path.exists():
        return Dataset(spec, root, json.loads(meta_path.read_text()))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    std = _spectrum(spec)
    centres = _cluster_centres(spec, std)
    n_chunks = spec.n_docs // spec.chunk_docs

    # Pass 1: fit PCA on the first documents.
    fit_chunks = max(1, min(n_chunks, spec.pca_fit_docs // spec.chunk_docs))
    sample = np.concatenate([generate_chunk(spec, c, centres, std)[0] for c in range(fit_chunks)])
    pca = PCA(n_components=max(spec.widths), svd_solver="covariance_eigh", random_state=0).fit(sample)
    del sample
    t_fit = time.perf_counter() - t0
    mean = pca.mean_.astype(np.float32)
    comps = pca.components_.astype(np.float32)  # (1024, 2048)

    # Pass 2: every chunk -> reduced widths on disk; queries; full-space top-k per size.
    outs = {
        w: np.memmap(root / f"docs_{w}.f32", dtype=np.float32, mode="w+", shape=(spec.n_docs, w)) for w in spec.widths
    }
    designs_all = np.empty(spec.n_docs, np.int64)
    buckets_all = np.empty(spec.n_docs, np.int32)
    q_raw = [generate_chunk(spec, c, centres, std, with_queries=True)[3] for c in range(spec.query_chunks)]
    queries_full = np.concatenate(q_raw)[: spec.n_queries]
    q_full = l2_normalise(queries_full - mean)
    k = spec.full_topk
    best_s = np.full((len(q_full), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q_full), 0), np.int64)
    for c in range(n_chunks):
        docs, designs, buckets, _ = generate_chunk(spec, c, centres, std)
        lo = c * spec.chunk_docs
        hi = lo + spec.chunk_docs
        centred = docs - mean
        reduced = centred @ comps.T
        for w in spec.widths:
            outs[w][lo:hi] = l2_normalise(reduced[:, :w])
        designs_all[lo:hi] = designs
        buckets_all[lo:hi] = buckets
        best_s, best_i = _merge_topk(best_s, best_i, q_full @ l2_normalise(centred).T, lo, k)
        if hi in spec.sizes:
            np.save(root / f"full_top_{hi}.npy", best_i.astype(np.int32))
        if c % 10 == 0:
            log.info("generated %d / %d documents", hi, spec.n_docs)
    for mm in outs.values():
        mm.flush()
    del outs
    np.save(root / "designs.npy", designs_all)
    np.save(root / "groups.npy", designs_all)
    np.save(root / "buckets.npy", buckets_all)
    q_reduced = (queries_full - mean) @ comps.T
    for w in spec.widths:
        np.save(root / f"queries_{w}.npy", l2_normalise(q_reduced[:, :w]))
    np.save(root / "queries_full.npy", q_full)
    meta = {
        "spec": asdict(spec),
        "explained_variance": {
            str(w): float(pca.explained_variance_ratio_[:w].sum()) for w in spec.widths
        },
        "pca_fit_s": round(t_fit, 2),
        "generate_s": round(time.perf_counter() - t0, 2),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    log.info("dataset %s ready in %.1f s", root, meta["generate_s"])
    return Dataset(spec, root, meta)


def default_spec(*, quick: bool = False, large: bool = False) -> DataSpec:
    if quick:
        return DataSpec(n_docs=20_000, sizes=(20_000,), n_queries=200, pca_fit_docs=20_000)
    if large:
        return DataSpec(n_docs=1_000_000, sizes=(100_000, 500_000, 1_000_000))
    return DataSpec(n_docs=500_000, sizes=(100_000, 500_000))


if __name__ == "__main__":  # python -m benchmarks.data [--quick|--large]: just build the cache
    import argparse

    from lookalike.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--large", action="store_true")
    a = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ds = build(default_spec(quick=a.quick, large=a.large), Settings().data_dir)
    print(json.dumps(ds.meta, indent=2))

"""The indexing pipeline, stage by stage: read -> load + embed -> reduce -> write.

Both jobs run these same stages: the bulk reindex (:mod:`indexer.reindex`, which fits the
PCA and writes into a new collection) and the incremental upsert (:mod:`indexer.incremental`,
which applies the live index's PCA and writes into the live collection). The job decides
where the output goes and which transform reduces it; how a document is made is here. Each
stage reports its bad items to the job's :class:`~indexer.report.ErrorReport` and is timed
by the job's :class:`~indexer.timing.StageTimer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.connection import SolrClient
from lookalike.fields import VECTOR_FIELD
from lookalike.settings import Settings

from indexer.cache import EmbeddingCache
from indexer.catalog import read_catalog
from indexer.embedding import Embedder, Failed
from indexer.report import ErrorReport
from indexer.timing import StageTimer
from indexer.writer import SolrWriter


def read_products(catalog: Path, report: ErrorReport) -> list:
    """The read stage: every valid product of the catalog; each bad line goes to the report."""
    products = []
    for item in read_catalog(catalog):
        if isinstance(item, Exception):
            report.add_catalog_error(item)
        else:
            products.append(item)
    return products


@dataclass
class Embedded:
    """What the load and embed stages made: the products that have a vector, and the vectors."""

    products: list
    vectors: np.ndarray  # float32[len(products), model width]; shape (0, 0) when none
    embedded: int  # vectors computed now
    cache_hits: int  # vectors that came from the cache


def embed_products(model, products: list, base_dir: Path, settings: Settings, report: ErrorReport,
                   timer: StageTimer, *, on_progress=None) -> Embedded:
    """The load and embed stages over ``products`` (images relative to ``base_dir``), through
    the embedding cache; a product whose image fails goes to the report. ``on_progress(n)`` is
    called per product done."""
    if settings.embed_backend == "ray":
        from indexer.distributed import RayEmbedder  # Ray is an install extra

        embedder = RayEmbedder(model, settings)
    else:
        embedder = Embedder(model, EmbeddingCache(settings.cache_dir), settings, timer)

    def on_error(f: Failed) -> None:
        report.add_item_error(f.product.id, f.reason, f.message)
        if on_progress is not None:
            on_progress(1)

    kept, vectors = [], []
    for product, vector in embedder.run(products, base_dir, on_error):
        kept.append(product)
        vectors.append(vector)
        if on_progress is not None:
            on_progress(1)
    stacked = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), np.float32)
    return Embedded(kept, stacked, embedder.embedded, embedder.cache_hits)


def product_doc(product, vector: np.ndarray, model_name: str, pca_version: str) -> dict:
    """The Solr document of a product: its fields, its reduced vector and how it was made."""
    doc = product.to_solr_doc()
    # float32 has 7 significant digits; rounding first keeps the JSON short and fast to parse
    doc.update({VECTOR_FIELD: np.round(vector.astype(np.float64), 7).tolist(),
                "model": model_name, "pca_version": pca_version})
    return doc


def product_docs(products: list, reduced: np.ndarray, model_name: str, pca_version: str) -> list[dict]:
    return [product_doc(product, vec, model_name, pca_version) for product, vec in zip(products, reduced)]


def write_docs(client: SolrClient, collection: str, docs: Iterable[dict]) -> int:
    """The write stage: every document into ``collection`` (batched, a few batches in flight, a batch
    that meets a node's death sent again), committed. ``docs`` may be a generator."""
    writer = SolrWriter(client, collection)
    for doc in docs:
        writer.add(doc)
    writer.commit()
    return writer.written

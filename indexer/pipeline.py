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
from functools import cached_property
from pathlib import Path

import numpy as np

from lookalike.connection import SolrClient
from lookalike.fields import IMAGES_FIELD, image_vector_field
from lookalike.settings import Settings

from indexer.cache import EmbeddingCache
from indexer.catalog import read_catalog
from indexer.content_keys import ContentKeys
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


@dataclass(frozen=True)
class ImageItem:
    """One image of a product as the load and embed stages see it: like a product, it has an
    ``id`` (the product's, for the error report) and an ``image`` (this image's reference)."""

    product: object
    position: int  # 0: the main image
    image: str

    @property
    def id(self) -> str:
        return self.product.id


@dataclass
class Embedded:
    """What the load and embed stages made: the products that have a vector, and the vectors.

    A product is kept when its main image embeds; an extra image that fails is reported and
    left out, so ``images[i]`` lists the references of product i's images that have a vector,
    in the order of ``image_vectors[i]``'s rows (the main image first)."""

    products: list
    image_vectors: list[np.ndarray]  # per product: float32[its images, model width]
    images: list[tuple[str, ...]]
    embedded: int  # vectors computed now
    cache_hits: int  # vectors that came from the cache
    images_left_out: int = 0  # images beyond max_images

    @property
    def vectors(self) -> np.ndarray:
        """The main images' vectors: float32[len(products), model width]; shape (0, 0) when none."""
        return np.stack([v[0] for v in self.image_vectors]) if self.image_vectors else np.zeros((0, 0), np.float32)

    @cached_property
    def all_vectors(self) -> np.ndarray:
        """Every image's vector, product by product (what the PCA is fitted on and what is
        reduced): made once, on first use (100k x 1280 is 512 MB; the job asks for it twice)."""
        return np.concatenate(self.image_vectors) if self.image_vectors else np.zeros((0, 0), np.float32)

    def image_items(self) -> list[ImageItem]:
        """Every embedded image as an item, in the order of :attr:`all_vectors`' rows."""
        return [ImageItem(p, n, ref) for p, refs in zip(self.products, self.images) for n, ref in enumerate(refs)]

    @property
    def image_fields(self) -> int:
        """Vector fields the products need: the most images any kept product has."""
        return max((len(v) for v in self.image_vectors), default=1)


def embed_products(model, products: list, base_dir: Path, settings: Settings, report: ErrorReport,
                   timer: StageTimer, *, on_progress=None, max_images: int | None = None) -> Embedded:
    """The load and embed stages over the images of ``products`` (relative to ``base_dir``), at
    most ``max_images`` (default: the setting) per product, main first, through the embedding
    cache; a product whose main image fails goes to the report, and so does an extra image that
    fails (the product is kept without it). ``on_progress(n)`` is called per product done."""
    if settings.embed_backend == "ray":
        from indexer.distributed import RayEmbedder  # Ray is an install extra

        embedder, keys = RayEmbedder(model, settings), None
    else:
        keys = ContentKeys.beside(settings.cache_dir)
        embedder = Embedder(model, EmbeddingCache(settings.cache_dir), settings, timer, workers=settings.load_workers,
                            keys=keys)
    limit = settings.max_images if max_images is None else max_images
    items = [ImageItem(p, n, ref) for p in products for n, ref in enumerate(p.images[:limit])]
    left_out = sum(max(0, len(p.images) - limit) for p in products)
    by_product: dict[str, tuple[object, list[str], list[np.ndarray]]] = {}
    failed: set[str] = set()

    def on_error(f: Failed) -> None:
        item = f.product
        if item.position == 0:
            failed.add(item.id)
            report.add_item_error(item.id, f.reason, f.message)
            if on_progress is not None:
                on_progress(1)
        else:
            report.add_item_error(item.id, f.reason, f"image {item.position + 1} ({item.image}): {f.message}",
                                  source="extra_image")

    try:
        for item, vector in embedder.run(items, base_dir, on_error):
            if item.id in failed:
                continue
            entry = by_product.setdefault(item.id, (item.product, [], []))
            entry[1].append(item.image)
            entry[2].append(np.asarray(vector, dtype=np.float32))
            if item.position == 0 and on_progress is not None:
                on_progress(1)
    finally:
        if keys is not None:
            keys.close()
    kept = [by_product[p.id] for p in products if p.id in by_product and p.id not in failed]
    return Embedded([p for p, _, _ in kept], [np.stack(vs) for _, _, vs in kept], [tuple(refs) for _, refs, _ in kept],
                    embedder.embedded, embedder.cache_hits, left_out)


def product_doc(product, vectors: np.ndarray, model_name: str, pca_version: str,
                images: tuple[str, ...] = ()) -> dict:
    """The Solr document of a product: its fields, its reduced vectors (one row per image, the
    main image's first, into ``vector``, ``vector_1``, ...) and how they were made."""
    doc = product.to_solr_doc()
    rows = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    for n, row in enumerate(rows):
        # kept as float32 arrays: the writer's orjson writes each float32 in its shortest exact
        # form (at most 9 digits, the very value Solr stores), 100k x 256 in a fraction of a second
        doc[image_vector_field(n)] = row
    if len(rows) > 1:
        doc[IMAGES_FIELD] = list(images)
    doc.update({"model": model_name, "pca_version": pca_version})
    return doc


def product_docs(embedded: Embedded, reduce, model_name: str, pca_version: str) -> list[dict]:
    """The documents of ``embedded``'s products, each image's vector reduced by ``reduce``
    (the fitted transform, applied once over all images)."""
    reduced = reduce(embedded.all_vectors)
    docs, row = [], 0
    for product, vectors, images in zip(embedded.products, embedded.image_vectors, embedded.images):
        docs.append(product_doc(product, reduced[row: row + len(vectors)], model_name, pca_version, images))
        row += len(vectors)
    return docs


def write_docs(client: SolrClient, collection: str, docs: Iterable[dict]) -> int:
    """The write stage: every document into ``collection`` (batched, a few batches in flight, a batch
    that meets a node's death sent again), committed. ``docs`` may be a generator."""
    writer = SolrWriter(client, collection)
    for doc in docs:
        writer.add(doc)
    writer.commit()
    return writer.written

"""Incremental updates against the live alias, with the model and PCA the index was built with.

An attribute keeps the Solr type the live collection already has for it (``lookalike.fields``
names a field by its value's type, so ``"tags": "summer"`` would otherwise start a second
field ``tags_s`` beside the catalog's ``tags_ss`` and split the facet). A value that converts
without loss is coerced to the existing type, with a warning and a count: a string into a
list of strings, an integer into a number. Any other change is refused: that product is not
written and its line is reported (reason ``attribute_type``) with the type the collection has.

A job that indexes nothing (every line failed, or an empty file) raises
:class:`IndexJobError`, so the CLI exits non-zero.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lookalike.connection import SolrClient
from lookalike.errors import IndexJobError
from lookalike.fields import route_key
from lookalike.meta import live_record
from lookalike.settings import Settings
from lookalike.solr import cloud

from indexer.attribute_types import AttributeTypes, TypeChange
from indexer.index_model import open_index_model
from indexer.pipeline import embed_products, product_docs, read_products, write_docs
from indexer.report import ErrorReport
from indexer.timing import StageTimer

log = logging.getLogger(__name__)


@dataclass
class UpsertSummary:
    collection: str
    read: int = 0
    indexed: int = 0
    failed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    coerced: int = 0
    report: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def upsert(settings: Settings, client: SolrClient, catalog: Path, *, alias: str,
           allow_random_weights: bool = False) -> UpsertSummary:
    if not catalog.is_file():
        raise IndexJobError(f"catalog {catalog} is not a file")
    record = live_record(settings, client, alias)
    model, reducer = open_index_model(settings, client, record, lazy=True, allow_random=allow_random_weights)

    runs_dir = settings.data_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    report = ErrorReport(runs_dir / f"{alias}-upsert-errors.jsonl")
    products = read_products(catalog, report)
    summary = UpsertSummary(collection=record.collection, read=len(products) + report.count)
    # a product's images beyond the vector fields the live collection has are left out
    fields = cloud.image_field_count(client, record.collection)
    embedded = embed_products(model, products, catalog.parent, settings, report, StageTimer(),
                              max_images=min(fields, settings.max_images))
    if embedded.images_left_out:
        summary.warnings.append(f"{embedded.images_left_out} images left out: {record.collection} has vector fields "
                                f"for {fields} image(s) per product (reindex to add more)")
    kept = embedded.products
    written = 0
    if kept:
        docs = product_docs(embedded, reducer.transform, model.identity, record.pca_version)
        types = AttributeTypes.of(client, record.collection, docs)
        kept_docs = []
        for doc in docs:
            try:
                kept_docs.append(types.conform(doc))
            except TypeChange as change:
                report.add_item_error(doc["id"], "attribute_type", str(change))
        if kept_docs:
            _remove_moved(client, record.collection, kept_docs)
            write_docs(client, record.collection, kept_docs)
        written = len(kept_docs)
        summary.coerced = types.coerced_docs
        summary.warnings += types.warnings()
    report.close()
    summary.indexed = written
    summary.failed = report.count
    summary.failed_by_reason = report.counts_by_reason()
    summary.report = str(report.path)
    if record.warning():
        summary.warnings.append(record.warning())
    if not written:
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(summary.failed_by_reason.items()))
        raise IndexJobError(
            f"nothing in {catalog} was indexed into {alias}: "
            + (f"all {summary.failed} line(s) failed ({reasons}); see {report.path}" if summary.failed
               else "it has no product line")
        )
    return summary


def _remove_moved(client: SolrClient, collection: str, docs: list[dict]) -> None:
    """Delete the stored copy of every product whose group changes: the collection routes by
    group (``_route_key``), so its new version lands on another shard and the old one would stay
    beside it. Solr sends a delete by id to every shard."""
    stored = cloud.real_time_get(client, collection, [d["id"] for d in docs], fl="id,group")
    moved = [d["id"] for d in docs if d["id"] in stored and route_key(stored[d["id"]]) != route_key(d)]
    if moved:
        log.info("%d products change their group; their old copies are deleted first", len(moved))
        client.post(f"{collection}/update", json_body={"delete": moved})


def delete(settings: Settings, client: SolrClient, ids: list[str], *, alias: str) -> tuple[list[str], list[str]]:
    """Delete products by id from the live collection; returns (deleted, not found)."""
    record = live_record(settings, client, alias)
    present = set(cloud.real_time_get(client, record.collection, list(ids), fl="id"))
    deleted = [i for i in ids if i in present]
    missing = [i for i in ids if i not in present]
    if deleted:
        client.post(f"{record.collection}/update", params={"commit": "true"}, json_body={"delete": deleted})
    return deleted, missing

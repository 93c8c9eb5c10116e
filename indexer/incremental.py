"""Incremental updates against the live alias, with the model and PCA the index was built with."""

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
    embedded = embed_products(model, products, catalog.parent, settings, report, StageTimer())
    kept = embedded.products
    if kept:
        docs = product_docs(kept, reducer.transform(embedded.vectors), model.identity, record.pca_version)
        _remove_moved(client, record.collection, docs)
        write_docs(client, record.collection, docs)
    report.close()
    summary.indexed = len(kept)
    summary.failed = report.count
    summary.failed_by_reason = report.counts_by_reason()
    summary.report = str(report.path)
    if record.warning():
        summary.warnings.append(record.warning())
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

"""An alias and its physical collections: the one place an alias is moved (:func:`publish`),
the names of staging collections, the collections of failed runs, pruning, promotion of a
candidate and rollback. Used by the reindex job, the CLI and the quality harness.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, IndexJobError, NotFound
from lookalike.settings import Settings
from lookalike.solr import cloud

from indexer.meta import MetadataStore

log = logging.getLogger(__name__)


def publish(client: SolrClient, alias: str, collection: str) -> None:
    cloud.create_alias(client, alias, collection)
    log.info("alias %s now serves %s", alias, collection)


def staging_name(alias: str) -> str:
    return f"{alias}_{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')[:-3]}"


def failed_runs(client: SolrClient, meta: MetadataStore, alias: str) -> list[str]:
    """Collections of this alias's runs that never completed: a staging name, no index record
    (written only after verification), not served by the alias."""
    pattern = re.compile(re.escape(alias) + r"_\d{17}")
    live = cloud.alias_target(client, alias)
    recorded = {r.collection for r in meta.index_records(alias)}
    return [name for name in cloud.list_collections(client)
            if pattern.fullmatch(name) and name not in recorded and name != live]


def remove_failed_runs(client: SolrClient, meta: MetadataStore, alias: str, *, keep: set[str]) -> list[str]:
    """Delete :func:`failed_runs` except ``keep`` (the run in progress); returns the names deleted."""
    removed = []
    for name in failed_runs(client, meta, alias):
        if name in keep:
            continue
        cloud.delete_collection(client, name)
        log.warning("removed %s, the collection of a failed %s run", name, alias)
        removed.append(name)
    return removed


def prune(client: SolrClient, meta: MetadataStore, alias: str, *, keep: int) -> None:
    """Delete the alias's collections beyond the newest ``keep`` (the live one always stays).

    Failed runs go first; while one of them still stands, no good collection is deleted.
    """
    remove_failed_runs(client, meta, alias, keep=set())
    standing = failed_runs(client, meta, alias)
    if standing:
        log.warning("not pruning %s: the failed run(s) %s could not be removed", alias, ", ".join(standing))
        return
    live = cloud.alias_target(client, alias)
    existing = set(cloud.list_collections(client))
    records = [r for r in meta.index_records(alias) if r.collection in existing]
    for record in records[keep:]:
        if record.collection == live:
            continue
        cloud.delete_collection(client, record.collection)
        meta.delete_index_record(record.collection)
        log.info("removed old collection %s", record.collection)


def promote(settings: Settings, client: SolrClient, alias: str, collection: str) -> str | None:
    """Point ``alias`` at ``collection``, a candidate built for it (``lookalike index --no-swap``,
    verified when it was built); returns the collection the alias served before."""
    meta = MetadataStore(client, settings)
    if collection not in cloud.list_collections(client):
        raise NotFound(f"collection {collection} does not exist")
    record = meta.index_record(collection)  # NotFound: not built by `lookalike index`
    if record.alias != alias:
        raise BadRequest(f"{collection} was built for alias {record.alias}, not {alias}")
    previous = cloud.alias_target(client, alias)
    if previous == collection:
        return previous
    publish(client, alias, collection)
    prune(client, meta, alias, keep=settings.keep_collections)
    return previous


def rollback(settings: Settings, client: SolrClient, alias: str) -> tuple[str, str]:
    """Point ``alias`` back at the newest collection older than the one it serves."""
    meta = MetadataStore(client, settings)
    current = cloud.alias_target(client, alias)
    if current is None:
        raise IndexJobError(f"alias {alias} does not exist: nothing to roll back")
    existing = set(cloud.list_collections(client))
    records = [r for r in meta.index_records(alias) if r.collection in existing]
    names = [r.collection for r in records]
    older = names[names.index(current) + 1:] if current in names else []
    if not older:
        raise IndexJobError(f"alias {alias} serves {current} and no older collection is kept to roll back to")
    publish(client, alias, older[0])
    return current, older[0]

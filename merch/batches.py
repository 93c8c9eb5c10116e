"""Applied writes as batches: written with their undo information first, undone exactly.

A batch writes ``attribute=value`` to products with atomic updates (and
``<attr>_src_s = propagated:<batch>``); its record keeps who, when, the source (a proposal
or a cluster), model and PCA version, and per product its score, reason and the fields
before and after, so :func:`undo` restores them (see :mod:`merch.provenance`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.fields import VECTOR_FIELD
from lookalike.settings import Settings
from lookalike.solr_syntax import check_identifier
from merch.catalog import get_docs, iter_docs, write_updates
from merch.filters import load_schema
from merch.provenance import Change, Skip, atomic_update, check_attribute, plan_undo, plan_write, provenance_field
from merch.records import Batch, new_id
from merch.store import MerchStore, now, physical_collection
from merch.vectors import ExampleScorer
from query.schema import Schema

log = logging.getLogger(__name__)


def value_field(client: SolrClient, collection: str, attribute: str, schema: Schema | None = None) -> str:
    """``<attr>_ss`` when the catalog has the attribute as a list, else ``<attr>_s``.

    ``schema``: the collection's, when the caller has read it already.
    """
    check_attribute(attribute)
    schema = schema or load_schema(client, collection)
    multi = f"{attribute}_ss"
    return check_identifier(multi if multi in schema.fields else f"{attribute}_s")


def write_batch(settings: Settings, client: SolrClient, collection: str, *, attribute: str, field: str,
                value: str, user: str, source: dict[str, Any], items: list[tuple[str, float, dict[str, Any]]],
                overwrite_human: bool, model_doc: dict[str, Any] | None) -> Batch:
    if not user:
        raise BadRequest("say who applies the batch (user)")
    src = provenance_field(attribute)
    batch = Batch(id=new_id("b"), collection=collection, attribute=attribute, field=field, value=value,
                  user=user, created=now(), source=source,
                  model=(model_doc or {}).get("model"), pca_version=(model_doc or {}).get("pca_version"))
    docs = get_docs(client, collection, [i for i, _, _ in items], fl=f"id,{field},{src}")
    changes: list[Change] = []
    for pid, score, reason in items:
        if pid not in docs:
            batch.skipped.append({"id": pid, "reason": "no such product"})
            continue
        planned = plan_write(docs[pid], value_field=field, src_field=src, value=value, batch_id=batch.id,
                             overwrite_human=overwrite_human, score=score, reason=reason)
        if isinstance(planned, Skip):
            batch.skipped.append({"id": planned.id, "reason": planned.reason})
        else:
            changes.append(planned)
    batch.written = len(changes)
    store = MerchStore(client, settings)
    # the undo information is durable before any product changes
    store.put_many([("change", f"{batch.id}:{c.id}", c.as_dict(), {"batch_s": batch.id}) for c in changes],
                   commit=False)
    save_batch(settings, client, batch)
    write_updates(client, collection, [atomic_update(c.id, c.after) for c in changes])
    batch.state = "applied"
    save_batch(settings, client, batch)
    log.info("batch %s: %s=%s written to %d product(s), %d skipped", batch.id, attribute, value,
             batch.written, len(batch.skipped))
    return batch


def save_batch(settings: Settings, client: SolrClient, b: Batch) -> None:
    MerchStore(client, settings).put("batch", b.id, asdict(b), collection_s=b.collection, attribute_s=b.attribute,
                                     state_s=b.state, created_s=b.created)


def load_batch(settings: Settings, client: SolrClient, batch_id: str) -> Batch:
    record = MerchStore(client, settings).get("batch", batch_id)
    if record is None:
        raise NotFound(f"there is no batch {batch_id}")
    return Batch(**record)


def list_batches(settings: Settings, client: SolrClient, *, collection: str | None = None,
                 attribute: str | None = None) -> list[Batch]:
    equals = {}
    if collection:
        equals["collection_s"] = physical_collection(client, collection)
    if attribute:
        equals["attribute_s"] = attribute
    return [Batch(**r) for r in MerchStore(client, settings).find("batch", **equals)]


def batch_changes(settings: Settings, client: SolrClient, batch_id: str) -> list[Change]:
    return [Change.from_dict(r) for r in MerchStore(client, settings).iter_all("change", batch_s=batch_id)]


def undo(settings: Settings, client: SolrClient, batch_id: str, *, user: str = "", force: bool = False) -> Batch:
    """Restore every product of the batch to its previous fields (see :func:`merch.provenance.plan_undo`)."""
    batch = load_batch(settings, client, batch_id)
    if batch.state == "undone":
        raise BadRequest(f"batch {batch_id} was already undone on {batch.undone}")
    changes = batch_changes(settings, client, batch_id)
    src = provenance_field(batch.attribute)
    current = get_docs(client, batch.collection, [c.id for c in changes], fl=f"id,{batch.field},{src}")
    updates, conflicts = [], []
    for c in changes:
        planned = plan_undo(c, current.get(c.id), force=force)
        if isinstance(planned, Skip):
            conflicts.append({"id": planned.id, "reason": planned.reason})
        else:
            updates.append(planned)
    write_updates(client, batch.collection, updates)
    batch.state, batch.undone, batch.undone_by, batch.undo_conflicts = "undone", now(), user, conflicts
    save_batch(settings, client, batch)
    return batch


def tag_cluster(settings: Settings, client: SolrClient, collection: str, cluster_id: int, *, attribute: str,
                value: str, user: str, overwrite_human: bool = False) -> Batch:
    """Write ``attribute=value`` to every member of a cluster as one batch; names the cluster too."""
    from merch import clusters as clustering  # here: it loads scikit-learn, which the app should not pay at start-up

    check_attribute(attribute)
    if not value or len(value) > 200:
        raise BadRequest("the value must be 1 to 200 characters")
    cl = clustering.load(settings, client, collection)
    info = cl.cluster(int(cluster_id))
    centroid = np.asarray(cl.centroids[info.id], dtype=np.float32)
    members = list(iter_docs(client, cl.collection, fl=f"id,{VECTOR_FIELD}",
                             fq=[f"{clustering.CLUSTER_FIELD}:{int(info.id)}"]))
    if not members:
        raise NotFound(f"cluster {info.id} of {cl.collection} has no member any more (the catalog changed?)")
    vecs = np.asarray([m[VECTOR_FIELD] for m in members], dtype=np.float32)
    cos = ExampleScorer(centroid[None, :]).similarity(vecs)
    items = [(m["id"], round(float(c), 6), {"cluster": info.id, "medoid": info.medoid,
                                             "cosine_to_centroid": round(float(c), 6)})
             for m, c in zip(members, cos)]
    medoid = get_docs(client, cl.collection, [info.medoid], fl="id,model,pca_version").get(info.medoid)
    field_name = value_field(client, cl.collection, attribute)
    source = {"kind": "cluster", "cluster": info.id, "medoid": info.medoid, "clustering": cl.created}
    batch = write_batch(settings, client, cl.collection, attribute=attribute, field=field_name, value=value,
                        user=user, source=source, items=items, overwrite_human=overwrite_human, model_doc=medoid)
    info.label = f"{attribute}={value}"
    clustering.save(settings, client, cl)
    return batch

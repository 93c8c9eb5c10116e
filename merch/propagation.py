"""Attribute propagation with review: propose, decide, apply as a batch, undo exactly.

**Propose.** From positive example ids (and optional negatives) the candidates for
``attribute=value`` are the products whose similarity to the examples is at or above the
threshold. Solr finds them with the exact ``{!lookalike}`` plugin, with the user's filters as
``fq``'s and the examples and the products that already have the value left out. Examples
combine by ``mean`` by default: the normalised mean of the examples' unit vectors, so what
two examples of a print in different colours share (the print) adds up and what differs
(the colours) partly cancels; ``max`` (resemble any one example) is the other choice.
Negatives subtract ``unlikeWeight`` times their best cosine. Measured on the 2,000-product
demo catalog with the real model (:mod:`merch.evaluate`; two examples of different designs,
their own variants left out of the scoring): within one category, average precision of the
Hawaiian print is 0.999 on t-shirts (precision 1.0, recall 0.96 at the default threshold 0.5)
but 0.46 on dresses, 0.68 averaged over the seven categories (``max``: 0.61); over the whole
catalog at once, where shape dominates generic ImageNet features, 0.55 against a base rate
of 0.20. A merchandiser should filter to a category and move the threshold while reviewing.
Each candidate's reason - its cosine to every example - is then computed here from its
stored vector with the plugin's own formula
(:class:`merch.vectors.ExampleScorer`). A proposal (attribute, value, examples, threshold,
filters, decisions) is stored, so the threshold can be moved and the review resumed.

**Decide and apply.** The merchandiser accepts or rejects candidates. Applying writes the
accepted ones with atomic updates: the value, and ``<attr>_src_s = propagated:<batch>``. The
batch record keeps who, when, the examples, model and PCA version (read from the example
products), and per product its score, reason and the fields before and after. A value a
human set (catalog value, or ``<attr>_src_s = human``) is skipped unless ``overwrite_human``.

**Undo** restores every product of a batch to exactly its previous fields, removing fields
that were absent; a product changed since the batch is reported and left alone unless forced.
The batch's records are written *before* the products, so a crash mid-write can still be undone.

**Tag a cluster**: the same batch write for every member of a cluster, scored by the cosine
to the cluster's centroid.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.fields import VECTOR_FIELD
from lookalike.settings import Settings
from merch.catalog import example_vectors, get_docs, write_updates
from merch.filters import filter_queries, load_schema
from merch.provenance import (
    HUMAN, Change, Skip, atomic_update, check_attribute, origin, plan_undo, plan_write, provenance_field,
)
from merch.store import MerchStore, now, physical_collection
from merch.vectors import ExampleScorer, to_score
from query.escape import any_of, check_identifier, local_params, number, quote
from query.models import Filter

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5  # measured on the demo catalog: see the module doc
MAX_CANDIDATES = 5000
MAX_EXAMPLES = 20
SHOW_FIELDS = ("title", "image", "group", "category_s")


# -- records -------------------------------------------------------------------------------------
@dataclass
class Proposal:
    id: str
    collection: str
    attribute: str
    field: str
    value: str
    positives: list[str]
    negatives: list[str] = field(default_factory=list)
    combine: str = "mean"
    unlike_weight: float = 1.0
    threshold: float = DEFAULT_THRESHOLD
    filters: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""
    created_by: str = ""
    decisions: dict[str, str] = field(default_factory=dict)  # product id -> accept | reject
    batches: list[str] = field(default_factory=list)
    state: str = "open"  # open | closed

    def filter_objects(self) -> list[Filter]:
        return [Filter(**f) for f in self.filters]


@dataclass
class Candidate:
    id: str
    similarity: float  # cosine units, the plugin's combined similarity
    score: float  # (1 + similarity) / 2, Solr's score scale
    positives: dict[str, float]  # example id -> cosine
    negatives: dict[str, float]
    current: Any = None  # the product's current value of the attribute
    origin: str = "absent"  # absent | human | propagated:<batch>
    blocked: str | None = None  # why applying would skip it (a human value)
    decision: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)  # title, image ... for display

    @property
    def closest(self) -> str:
        return max(self.positives, key=self.positives.get)

    def reason(self) -> dict[str, Any]:
        best = self.closest
        text = f"cosine {self.positives[best]:.3f} to example {best}"
        if self.negatives:
            worst = max(self.negatives, key=self.negatives.get)
            text += f"; {self.negatives[worst]:.3f} to negative example {worst}"
        return {"text": text, "positives": self.positives, "negatives": self.negatives}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["closest"] = self.closest
        d["reason"] = self.reason()["text"]
        return d


@dataclass
class Batch:
    id: str
    collection: str
    attribute: str
    field: str
    value: str
    user: str
    created: str
    source: dict[str, Any]
    model: str | None
    pca_version: str | None
    written: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    state: str = "applying"  # applying | applied | undone
    undone: str | None = None
    undone_by: str | None = None
    undo_conflicts: list[dict[str, str]] = field(default_factory=list)


def new_id(prefix: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"


def value_field(client: SolrClient, collection: str, attribute: str) -> str:
    """``<attr>_ss`` when the catalog has the attribute as a list, else ``<attr>_s``."""
    check_attribute(attribute)
    schema = load_schema(client, collection)
    multi = f"{attribute}_ss"
    return check_identifier(multi if multi in schema.fields else f"{attribute}_s")


def _check_examples(positives: list[str], negatives: list[str]) -> None:
    if not positives:
        raise BadRequest("give at least one positive example id")
    if len(positives) + len(negatives) > MAX_EXAMPLES:
        raise BadRequest(f"at most {MAX_EXAMPLES} examples, got {len(positives) + len(negatives)}")
    both = set(positives) & set(negatives)
    if both:
        raise BadRequest(f"{', '.join(sorted(both))} is both a positive and a negative example")
    for i in positives + negatives:
        if not i or "," in i:
            raise BadRequest(f"example id {i!r} is empty or contains a comma")


def _check_threshold(t: float) -> float:
    if not -1.0 <= t <= 1.0:
        raise BadRequest(f"the threshold is a cosine similarity between -1 and 1, got {t}")
    return float(t)


# -- propose ------------------------------------------------------------------------------------
def propose(settings: Settings, client: SolrClient, collection: str, *, attribute: str, value: str,
            positives: list[str], negatives: list[str] | None = None, threshold: float = DEFAULT_THRESHOLD,
            combine: str = "mean", unlike_weight: float = 1.0, filters: list[Filter] | None = None,
            user: str = "") -> Proposal:
    negatives = list(negatives or [])
    _check_examples(positives, negatives)
    if not value or len(value) > 200:
        raise BadRequest("the value must be 1 to 200 characters")
    physical = physical_collection(client, collection)
    example_vectors(client, physical, positives + negatives)  # 404 / 400 early for bad examples
    ExampleScorer(np.ones((1, 1)), combine=combine, unlike_weight=unlike_weight)  # validates both
    proposal = Proposal(
        id=new_id("p"), collection=physical, attribute=attribute,
        field=value_field(client, physical, attribute), value=value, positives=list(positives),
        negatives=negatives, combine=combine, unlike_weight=float(unlike_weight),
        threshold=_check_threshold(threshold), filters=[f.model_dump() for f in filters or []],
        created=now(), created_by=user,
    )
    save_proposal(settings, client, proposal)
    return proposal


def save_proposal(settings: Settings, client: SolrClient, p: Proposal) -> None:
    MerchStore(client, settings).put("proposal", p.id, asdict(p), collection_s=p.collection,
                                     attribute_s=p.attribute, state_s=p.state, created_s=p.created)


def load_proposal(settings: Settings, client: SolrClient, proposal_id: str) -> Proposal:
    record = MerchStore(client, settings).get("proposal", proposal_id)
    if record is None:
        raise NotFound(f"there is no proposal {proposal_id}")
    return Proposal(**record)


def list_proposals(settings: Settings, client: SolrClient, *, collection: str | None = None,
                   attribute: str | None = None, state: str | None = "open") -> list[Proposal]:
    equals = {}
    if collection:
        equals["collection_s"] = physical_collection(client, collection)
    if attribute:
        equals["attribute_s"] = attribute
    if state:
        equals["state_s"] = state
    return [Proposal(**r) for r in MerchStore(client, settings).find("proposal", **equals)]


def candidate_params(p: Proposal, *, threshold: float, rows: int, fqs: list[str], fl: str,
                     only_lacking: bool = False) -> dict[str, Any]:
    """The plugin query for a proposal's candidates (pure)."""
    lp: dict[str, Any] = {"f": VECTOR_FIELD, "like": "$like", "combine": p.combine,
                          "minSimilarity": number(_check_threshold(threshold))}
    params: dict[str, Any] = {"like": ",".join(p.positives)}
    if p.negatives:
        lp.update(unlike="$unlike", unlikeWeight=number(p.unlike_weight))
        params["unlike"] = ",".join(p.negatives)
    f = check_identifier(p.field)
    excluded = ["-" + any_of("id", p.positives + p.negatives), f"-{f}:{quote(p.value)}"]
    if only_lacking:
        excluded.append(f"-{f}:[* TO *]")
    params.update({
        "q": local_params("lookalike", **lp),
        "fq": [*fqs, "*:* " + " ".join(excluded)],
        "fl": fl, "rows": rows, "sort": "score desc,id asc",
    })
    return params


def candidates(settings: Settings, client: SolrClient, p: Proposal, *, threshold: float | None = None,
               limit: int = 200) -> tuple[list[Candidate], int]:
    """The proposal's candidates at ``threshold`` (default: the proposal's), best first; and how many in all."""
    threshold = p.threshold if threshold is None else _check_threshold(threshold)
    limit = max(1, min(int(limit), MAX_CANDIDATES))
    src = provenance_field(p.attribute)
    fl = ",".join(["id", VECTOR_FIELD, "score", p.field, src, *SHOW_FIELDS])
    fqs = filter_queries(client, p.collection, p.filter_objects())
    resp = client.select(p.collection, candidate_params(p, threshold=threshold, rows=limit, fqs=fqs, fl=fl))
    docs = resp["response"]["docs"]
    total = int(resp["response"]["numFound"])
    ex_pos, _ = example_vectors(client, p.collection, p.positives)
    ex_neg, _ = example_vectors(client, p.collection, p.negatives) if p.negatives else (None, None)
    scorer = ExampleScorer(ex_pos, ex_neg, combine=p.combine, unlike_weight=p.unlike_weight)
    out = []
    vecs = [d.get(VECTOR_FIELD) for d in docs]
    explained = scorer.explain(np.asarray(vecs, dtype=np.float32)) if docs else []
    for d, s in zip(docs, explained):
        who = origin(d, p.field, src)
        out.append(Candidate(
            id=d["id"], similarity=round(s.similarity, 6), score=round(float(d.get("score", to_score(s.similarity))), 6),
            positives={e: round(c, 6) for e, c in zip(p.positives, s.positive_cosines)},
            negatives={e: round(c, 6) for e, c in zip(p.negatives, s.negative_cosines)},
            current=d.get(p.field), origin=who,
            blocked=f"a human set {p.attribute}={d.get(p.field)!r}" if who == HUMAN and not p.field.endswith("_ss") else None,
            decision=p.decisions.get(d["id"]),
            doc={k: d[k] for k in SHOW_FIELDS if k in d},
        ))
    return out, total


def decide(settings: Settings, client: SolrClient, proposal_id: str, *, accept: list[str] = (),
           reject: list[str] = (), clear: list[str] = (), threshold: float | None = None) -> Proposal:
    p = load_proposal(settings, client, proposal_id)
    if p.state != "open":
        raise BadRequest(f"proposal {proposal_id} is {p.state}")
    both = set(accept) & set(reject)
    if both:
        raise BadRequest(f"{', '.join(sorted(both))} cannot be both accepted and rejected")
    for i in accept:
        p.decisions[i] = "accept"
    for i in reject:
        p.decisions[i] = "reject"
    for i in clear:
        p.decisions.pop(i, None)
    if threshold is not None:
        p.threshold = _check_threshold(threshold)
    save_proposal(settings, client, p)
    return p


def apply(settings: Settings, client: SolrClient, proposal_id: str, *, user: str,
          overwrite_human: bool = False) -> Batch:
    """Write every accepted candidate not written yet, as one batch."""
    p = load_proposal(settings, client, proposal_id)
    accepted = [i for i, d in p.decisions.items() if d == "accept"]
    if not accepted:
        raise BadRequest(f"proposal {proposal_id} has no accepted candidate to apply")
    ex_pos, pos_docs = example_vectors(client, p.collection, p.positives)
    ex_neg, _ = example_vectors(client, p.collection, p.negatives) if p.negatives else (None, None)
    scorer = ExampleScorer(ex_pos, ex_neg, combine=p.combine, unlike_weight=p.unlike_weight)
    docs = get_docs(client, p.collection, accepted, fl=f"id,{VECTOR_FIELD}")
    missing = [i for i in accepted if i not in docs]
    if missing:
        raise NotFound(f"accepted product(s) {', '.join(missing)} no longer exist in {p.collection}")
    items = []
    for i in accepted:
        s = scorer.explain(np.asarray([docs[i][VECTOR_FIELD]], dtype=np.float32))[0]
        items.append((i, round(s.similarity, 6), {
            "positives": dict(zip(p.positives, (round(c, 6) for c in s.positive_cosines))),
            "negatives": dict(zip(p.negatives, (round(c, 6) for c in s.negative_cosines))),
        }))
    source = {"kind": "proposal", "proposal": p.id, "positives": p.positives, "negatives": p.negatives,
              "combine": p.combine, "unlike_weight": p.unlike_weight, "threshold": p.threshold}
    batch = write_batch(settings, client, p.collection, attribute=p.attribute, field=p.field, value=p.value,
                        user=user, source=source, items=items, overwrite_human=overwrite_human,
                        model_doc=pos_docs[0])
    # an applied candidate is no longer pending: keep the decision, remember the batch
    p.batches.append(batch.id)
    save_proposal(settings, client, p)
    return batch


# -- batches ------------------------------------------------------------------------------------
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


# -- clusters ------------------------------------------------------------------------------------
def tag_cluster(settings: Settings, client: SolrClient, collection: str, cluster_id: int, *, attribute: str,
                value: str, user: str, overwrite_human: bool = False) -> Batch:
    """Write ``attribute=value`` to every member of a cluster as one batch; names the cluster too."""
    from merch import clusters as clustering
    from merch.catalog import iter_docs

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


def close_proposal(settings: Settings, client: SolrClient, proposal_id: str) -> Proposal:
    """Close a proposal: it no longer counts in gap reports (its batches stay undoable)."""
    p = load_proposal(settings, client, proposal_id)
    p.state = "closed"
    save_proposal(settings, client, p)
    return p

"""Attribute propagation with review: propose, decide, apply as a batch, undo exactly.

**Propose.** From positive example ids (and optional negatives) the candidates for
``attribute=value`` are the products whose similarity to the examples is at or above the
threshold, with the user's filters as ``fq``'s and the examples and the products that already
have the value left out.

By default the similarity is **category-centred** (:mod:`merch.centering`): each product is
compared with the examples after removing the average look of its category - what every
bag, hat or dress shares, mostly its shape - so what the examples have in common beyond
their category (the print) decides. Generic image features mix shape and print: compared raw,
a striped bag is nearer a floral bag than a floral hat is. Solr ranks, thresholds and counts
this exactly in one request (one ``{!lookalike}`` clause per category on an inline target);
the category means are computed once per physical collection (at ``clusters build``, or on
first use) and cached in the merchandising store. Negatives subtract ``unlikeWeight`` times
their own centred direction. ``center_by=None`` (or ``combine=max``) compares raw vectors with
the plugin's ``like``/``unlike`` as before: ``mean`` (the examples' average direction) or
``max`` (resemble any one example).

Measured on the 2,000-product demo catalog with the real model (:mod:`merch.evaluate`, two
examples of different designs, their own designs left out of the scoring), Hawaiian print
over the whole catalog: average precision 0.95, R-precision 0.87 (raw vectors: 0.55 and 0.40);
within one category, macro average precision 0.70 (raw 0.68), from 0.43 (dresses) to 0.99
(t-shirts). **Default threshold 0.2** (centred similarity): the lowest of the thresholds
measured (0.2, 0.3 ... 0.8) at which whole-catalog precision stays at or above 0.9 - a
merchandiser rejects at most about one in ten - which keeps the most recall: precision 0.95,
recall 0.66 (at 0.3: 1.00 and 0.45; the best F1 is at 0.12, precision 0.86). Within one
category precision at 0.2 varies (0.21 dresses to 1.0 t-shirts): move the threshold while
reviewing. Each candidate's reason - its (centred) cosine to every example and which
category's average was removed - is computed here from its stored vector with the same
formula Solr ranked by. A proposal (attribute, value, examples, centring, threshold, filters,
decisions) is stored, so the threshold can be moved and the review resumed.

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
from lookalike.fields import VECTOR_FIELD, attribute_name
from lookalike.settings import Settings
from merch import centering
from merch.catalog import example_vectors, get_docs, write_updates
from merch.filters import filter_queries, load_schema
from merch.provenance import (
    HUMAN, Change, Skip, atomic_update, check_attribute, origin, plan_undo, plan_write, provenance_field,
)
from merch.store import MerchStore, now, physical_collection
from merch.vectors import ExampleScorer, to_score
from lookalike.solr_syntax import any_of, check_identifier, local_params, number, quote
from query.models import Filter
from query.schema import Schema

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.2  # centred similarity; measured on the demo catalog: see the module doc
DEFAULT_CENTER_BY = centering.DEFAULT_BY  # compare prints after removing each category's average look (merch.centering)
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
    center_by: str | None = None  # the category field whose per-value average look is removed; None: raw vectors
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
    centred_on: str | None = None  # "category=bag": whose average look was removed before comparing

    @property
    def closest(self) -> str:
        return max(self.positives, key=self.positives.get)

    def reason(self) -> dict[str, Any]:
        best = self.closest
        others = [f"{e} {c:.3f}" for e, c in self.positives.items() if e != best]
        text = f"cosine {self.positives[best]:.3f} to example {best}" + (f" ({', '.join(others)})" if others else "")
        if self.negatives:
            worst = max(self.negatives, key=self.negatives.get)
            text += f"; {self.negatives[worst]:.3f} to negative example {worst}"
        if self.centred_on:
            text += (f"; compared after removing the average look of each product's category"
                     f" (this one: {self.centred_on}), so the shared print counts, not the shape")
        return {"text": text, "positives": self.positives, "negatives": self.negatives, "centred_on": self.centred_on}

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


def value_field(client: SolrClient, collection: str, attribute: str, schema: Schema | None = None) -> str:
    """``<attr>_ss`` when the catalog has the attribute as a list, else ``<attr>_s``.

    ``schema``: the collection's, when the caller has read it already.
    """
    check_attribute(attribute)
    schema = schema or load_schema(client, collection)
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
            user: str = "", center_by: str | None = DEFAULT_CENTER_BY) -> Proposal:
    """A stored proposal. ``center_by`` (an attribute, default ``category``) compares products after
    removing the average look of their value of it (:mod:`merch.centering`); None, or ``combine=max``,
    compares raw vectors. The default is dropped quietly when the catalog has no such attribute."""
    negatives = list(negatives or [])
    _check_examples(positives, negatives)
    if not value or len(value) > 200:
        raise BadRequest("the value must be 1 to 200 characters")
    physical = physical_collection(client, collection)
    example_vectors(client, physical, positives + negatives)  # 404 / 400 early for bad examples
    ExampleScorer(np.ones((1, 1)), combine=combine, unlike_weight=unlike_weight)  # validates both
    schema = load_schema(client, physical)
    center_field = centering.resolve_field(client, physical, center_by, schema) if combine == "mean" else None
    proposal = Proposal(
        id=new_id("p"), collection=physical, attribute=attribute, center_by=center_field,
        field=value_field(client, physical, attribute, schema), value=value, positives=list(positives),
        negatives=negatives, combine=combine, unlike_weight=float(unlike_weight),
        threshold=_check_threshold(threshold), filters=[f.model_dump() for f in filters or []],
        created=now(), created_by=user,
    )
    if center_field:
        centering.load(settings, client, physical, center_field)  # built and cached once per collection
    save_proposal(settings, client, proposal)
    return proposal


def describe(p: Proposal) -> str:
    """How the proposal scores products, in plain words (shown with its candidates)."""
    if p.center_by:
        by = attribute_name(p.center_by)
        text = (f"Each product is compared with the examples after removing the average look of its {by} "
                f"(what every product of that {by} shares, mostly its shape), so what they have in common "
                f"beyond their {by} - the print, the colours - decides. Similarity is the cosine of those "
                "differences, scaled by how far products of that category typically are from its average "
                "(0: unrelated, about 1: the same; a product unusually far from its category's average can pass 1).")
    elif p.combine == "max":
        text = "Similarity is the cosine to the closest example (raw image features: shape counts as much as print)."
    else:
        text = ("Similarity is the cosine to the examples' average direction (raw image features: shape counts as "
                "much as print).")
    if p.negatives:
        text += f" The negative examples' direction is subtracted (weight {p.unlike_weight:g})."
    return text


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
                     only_lacking: bool = False, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Solr request for a proposal's candidates (pure).

    ``query``: ``q`` and the parameters it refers to, when the proposal is centred
    (:meth:`Scoring.query`); otherwise the plugin query on the examples' ids.
    """
    if query is not None:
        params: dict[str, Any] = dict(query)
    else:
        lp: dict[str, Any] = {"f": VECTOR_FIELD, "like": "$like", "combine": p.combine,
                              "minSimilarity": number(_check_threshold(threshold))}
        params = {"like": ",".join(p.positives)}
        if p.negatives:
            lp.update(unlike="$unlike", unlikeWeight=number(p.unlike_weight))
            params["unlike"] = ",".join(p.negatives)
        params["q"] = local_params("lookalike", **lp)
    f = check_identifier(p.field)
    excluded = ["-" + any_of("id", p.positives + p.negatives), f"-{f}:{quote(p.value)}"]
    if only_lacking:
        excluded.append(f"-{f}:[* TO *]")
    params.update({
        "fq": [*fqs, "*:* " + " ".join(excluded)],
        "fl": fl, "rows": rows, "sort": "score desc,id asc",
    })
    return params


class Scoring:
    """How a proposal scores products, for the Solr request and for the reasons shown.

    Raw (``center_by`` None): the plugin's ``like``/``unlike`` query, explained by
    :class:`merch.vectors.ExampleScorer`. Centred: one inline target and a clause per category
    (:mod:`merch.centering`); the reasons are the cosines to each example with both sides'
    category average removed.
    """

    def __init__(self, settings: Settings, client: SolrClient, p: Proposal):
        self.p = p
        vecs, docs = example_vectors(client, p.collection, p.positives + p.negatives,
                                     extra_fl=[p.center_by] if p.center_by else [])
        n = len(p.positives)
        self.pos, self.pos_docs = vecs[:n], docs[:n]
        self.neg, self.neg_docs = (vecs[n:], docs[n:]) if p.negatives else (None, [])
        self.centering = None
        if p.center_by:
            self.centering = centering.load(settings, client, p.collection, p.center_by)
            self.target = centering.centred_target(
                self.centering, self.pos, [d.get(p.center_by) for d in self.pos_docs],
                self.neg, [d.get(p.center_by) for d in self.neg_docs], p.unlike_weight)
        else:
            self.scorer = ExampleScorer(self.pos, self.neg, combine=p.combine, unlike_weight=p.unlike_weight)

    @property
    def fields(self) -> list[str]:
        """Fields the explanation needs from each product."""
        return [VECTOR_FIELD] + ([self.p.center_by] if self.p.center_by else [])

    def query(self, threshold: float) -> dict[str, Any] | None:
        if self.centering is None:
            return None
        return centering.query_params(self.centering, self.target, threshold=_check_threshold(threshold))

    def explain(self, docs: list[dict[str, Any]]) -> list[tuple[float, dict[str, float], dict[str, float], str | None]]:
        """Per product: similarity, cosine to each positive and negative example, and whose average was removed."""
        if not docs:
            return []
        p = self.p
        vecs = np.asarray([d[VECTOR_FIELD] for d in docs], dtype=np.float32)
        out = []
        if self.centering is None:
            for s in self.scorer.explain(vecs):
                out.append((s.similarity, dict(zip(p.positives, s.positive_cosines)),
                            dict(zip(p.negatives, s.negative_cosines)), None))
            return out
        c, f = self.centering, p.center_by
        values = [d.get(f) for d in docs]
        sims = centering.similarity(c, self.target, vecs, values)
        pos = centering.centred_cosines(c, vecs, values, self.pos, [d.get(f) for d in self.pos_docs])
        neg = (centering.centred_cosines(c, vecs, values, self.neg, [d.get(f) for d in self.neg_docs])
               if self.neg is not None else np.zeros((len(docs), 0)))
        user_name = attribute_name(f)
        for d, s, pc, nc, v in zip(docs, sims, pos, neg, values):
            g = c.group(v).value
            out.append((float(s), dict(zip(p.positives, map(float, pc))), dict(zip(p.negatives, map(float, nc))),
                        f"{user_name}={g}" if g is not None else "the whole catalog"))
        return out


def candidates(settings: Settings, client: SolrClient, p: Proposal, *, threshold: float | None = None,
               limit: int = 200) -> tuple[list[Candidate], int]:
    """The proposal's candidates at ``threshold`` (default: the proposal's), best first; and how many in all."""
    threshold = p.threshold if threshold is None else _check_threshold(threshold)
    limit = max(1, min(int(limit), MAX_CANDIDATES))
    src = provenance_field(p.attribute)
    scoring = Scoring(settings, client, p)
    fl = ",".join(dict.fromkeys(["id", "score", p.field, src, *scoring.fields, *SHOW_FIELDS]))
    fqs = filter_queries(client, p.collection, p.filter_objects())
    resp = client.select(p.collection, candidate_params(p, threshold=threshold, rows=limit, fqs=fqs, fl=fl,
                                                        query=scoring.query(threshold)))
    docs = resp["response"]["docs"]
    total = int(resp["response"]["numFound"])
    out = []
    for d, (sim, pos, neg, centred_on) in zip(docs, scoring.explain(docs)):
        who = origin(d, p.field, src)
        out.append(Candidate(
            id=d["id"], similarity=round(sim, 6), score=round(to_score(sim), 6),
            positives={e: round(c, 6) for e, c in pos.items()},
            negatives={e: round(c, 6) for e, c in neg.items()},
            current=d.get(p.field), origin=who,
            blocked=f"a human set {p.attribute}={d.get(p.field)!r}" if who == HUMAN and not p.field.endswith("_ss") else None,
            decision=p.decisions.get(d["id"]),
            doc={k: d[k] for k in SHOW_FIELDS if k in d},
            centred_on=centred_on,
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
    scoring = Scoring(settings, client, p)
    pos_docs = scoring.pos_docs
    docs = get_docs(client, p.collection, accepted, fl=",".join(["id", *scoring.fields]))
    missing = [i for i in accepted if i not in docs]
    if missing:
        raise NotFound(f"accepted product(s) {', '.join(missing)} no longer exist in {p.collection}")
    items = []
    for i, (sim, pos, neg, centred_on) in zip(accepted, scoring.explain([docs[i] for i in accepted])):
        reason: dict[str, Any] = {"positives": {e: round(c, 6) for e, c in pos.items()},
                                  "negatives": {e: round(c, 6) for e, c in neg.items()}}
        if centred_on:
            reason["centred_on"] = centred_on
        items.append((i, round(sim, 6), reason))
    source = {"kind": "proposal", "proposal": p.id, "positives": p.positives, "negatives": p.negatives,
              "combine": p.combine, "unlike_weight": p.unlike_weight, "threshold": p.threshold,
              "center_by": p.center_by,
              "centering": scoring.centering.created if scoring.centering is not None else None}
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

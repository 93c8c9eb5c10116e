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

from dataclasses import asdict
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.fields import attribute_name
from lookalike.settings import Settings
from merch import centering
from merch.batches import load_batch, value_field, write_batch
from merch.catalog import example_vectors, get_docs
from merch.filters import filter_queries, load_schema
from merch.provenance import HUMAN, origin, provenance_field
from merch.records import (DEFAULT_THRESHOLD, Batch, Candidate, Proposal, check_threshold, confidence, new_id,
                           similarity_at)
from merch.scoring import Scoring, candidate_params
from merch.store import MerchStore, now, physical_collection
from merch.vectors import ExampleScorer, to_score
from query.models import Filter

DEFAULT_CENTER_BY = centering.DEFAULT_BY  # compare prints after removing each category's average look (merch.centering)
MAX_CANDIDATES = 5000
MAX_EXAMPLES = 20
SHOW_FIELDS = ("title", "image", "group", "category_s")


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
        threshold=check_threshold(threshold), filters=[f.model_dump() for f in filters or []],
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
                "(0: unrelated, about 1: the same; a product unusually far from its category's average can pass 1). "
                "Confidence is that similarity on a 0-1 scale (0.5 at the default threshold 0.2).")
    elif p.combine == "max":
        text = "Similarity is the cosine to the closest example (raw image features: shape counts as much as print)."
    else:
        text = ("Similarity is the cosine to the examples' average direction (raw image features: shape counts as "
                "much as print).")
    if p.negatives:
        text += f" The negative examples' direction is subtracted (weight {p.unlike_weight:g})."
    return text


def review(settings: Settings, client: SolrClient, p: Proposal, *, threshold: float | None = None,
           limit: int = 100) -> dict[str, Any]:
    """What the review screen shows (API, page and ``--json``): the proposal, how it scores, its
    candidates at ``threshold`` (default: the proposal's) with their confidence, how many "accept
    all" would accept, and the batches applied from it with their state (server state, so a
    message about them survives a reload)."""
    t = p.threshold if threshold is None else check_threshold(threshold)
    cands, total = candidates(settings, client, p, threshold=t, limit=limit)
    try:
        acceptable_count: int | None = len(acceptable(settings, client, p, threshold=t)[0])
    except BadRequest:
        acceptable_count = None  # more than MAX_CANDIDATES: accept all is refused with the reason
    applied = []
    for b in reversed(p.batches):
        try:
            batch = load_batch(settings, client, b)
        except NotFound:
            continue
        applied.append({"id": batch.id, "state": batch.state, "written": batch.written,
                        "skipped": len(batch.skipped), "user": batch.user, "created": batch.created,
                        "undone": batch.undone})
    accepted = [i for i, d in p.decisions.items() if d == "accept"]
    current = get_docs(client, p.collection, accepted, fl=f"id,{p.field}") if accepted else {}
    pending = sum(1 for i in accepted if i in current and not _has_value(current[i].get(p.field), p.value))
    return {"proposal": asdict(p), "scoring": describe(p), "threshold": t, "pending": pending,
            "min_confidence": round(confidence(t), 4), "total": total, "acceptable": acceptable_count,
            "accepted": sum(1 for d in p.decisions.values() if d == "accept"),
            "rejected": sum(1 for d in p.decisions.values() if d == "reject"),
            "batches": applied, "candidates": [c.as_dict() for c in cands]}


def resolve_threshold(threshold: float | None, min_confidence: float | None) -> float | None:
    """A similarity threshold from either way of saying it (``min_confidence`` wins when both)."""
    return similarity_at(min_confidence) if min_confidence is not None else threshold


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


def candidates(settings: Settings, client: SolrClient, p: Proposal, *, threshold: float | None = None,
               limit: int = 200) -> tuple[list[Candidate], int]:
    """The proposal's candidates at ``threshold`` (default: the proposal's), best first; and how many in all."""
    threshold = p.threshold if threshold is None else check_threshold(threshold)
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


def acceptable(settings: Settings, client: SolrClient, p: Proposal, *,
               threshold: float | None = None) -> tuple[list[str], int]:
    """The candidates "accept all" would accept at ``threshold`` (default: the proposal's): every one
    above it, not rejected, not blocked by a human value; and how many candidates there are in all.
    One request without vectors; more than :data:`MAX_CANDIDATES` candidates is refused."""
    threshold = p.threshold if threshold is None else check_threshold(threshold)
    src = provenance_field(p.attribute)
    scoring = Scoring(settings, client, p)
    fqs = filter_queries(client, p.collection, p.filter_objects())
    resp = client.select(p.collection, candidate_params(p, threshold=threshold, rows=MAX_CANDIDATES, fqs=fqs,
                                                        fl=f"id,{p.field},{src}", query=scoring.query(threshold)))
    total = int(resp["response"]["numFound"])
    if total > MAX_CANDIDATES:
        raise BadRequest(f"{total} candidates are more than {MAX_CANDIDATES} to accept at once: "
                         "raise the minimum confidence")
    single = not p.field.endswith("_ss")
    ids = [d["id"] for d in resp["response"]["docs"]
           if p.decisions.get(d["id"]) != "reject" and not (single and origin(d, p.field, src) == HUMAN)]
    return ids, total


def accept_all(settings: Settings, client: SolrClient, proposal_id: str, *, threshold: float | None = None,
               expect: int | None = None) -> Proposal:
    """Accept every :func:`acceptable` candidate in one step (saving ``threshold`` when given).

    ``expect``: the count the merchandiser confirmed; when the candidates changed since, nothing is
    accepted and the error says how many there are now."""
    p = load_proposal(settings, client, proposal_id)
    if p.state != "open":
        raise BadRequest(f"proposal {proposal_id} is {p.state}")
    if threshold is not None:
        p.threshold = check_threshold(threshold)
    ids, _ = acceptable(settings, client, p)
    if expect is not None and expect != len(ids):
        raise BadRequest(f"{len(ids)} candidates can be accepted now, not the {expect} confirmed: review the count again")
    return decide(settings, client, proposal_id, accept=ids, threshold=p.threshold)


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
        p.threshold = check_threshold(threshold)
    save_proposal(settings, client, p)
    return p


def apply(settings: Settings, client: SolrClient, proposal_id: str, *, user: str,
          overwrite_human: bool = False) -> Batch:
    """Write every accepted candidate, and the positive examples themselves, as one batch (a product
    that has the value already is skipped, so applying again writes only what is new)."""
    p = load_proposal(settings, client, proposal_id)
    if p.state != "open":
        raise BadRequest(f"proposal {proposal_id} is {p.state}: reopen it by proposing again")
    accepted = [i for i, d in p.decisions.items() if d == "accept" and i not in p.positives]
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
    # the examples carry the value too (a merchandiser who picked them as "hawaiian" means it);
    # those that have it already are left out rather than listed as skipped
    have = get_docs(client, p.collection, p.positives, fl=f"id,{p.field}")
    items = [(e, 1.0, {"example": True}) for e in p.positives
             if not _has_value(have.get(e, {}).get(p.field), p.value)] + items
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


def _has_value(current: Any, value: str) -> bool:
    return value in current if isinstance(current, list) else current == value


def close_proposal(settings: Settings, client: SolrClient, proposal_id: str) -> Proposal:
    """Close a proposal: it no longer counts in gap reports (its batches stay undoable)."""
    p = load_proposal(settings, client, proposal_id)
    p.state = "closed"
    save_proposal(settings, client, p)
    return p

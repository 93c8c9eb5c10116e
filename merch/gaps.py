"""The attribute-gap report: who lacks an attribute, by category, and what propagation would fill.

For attribute ``A`` (field ``A_s`` or ``A_ss``) and a grouping attribute (``category`` by
default): the catalog's size and the number of products lacking ``A``, overall and per
category value (products without a category are their own row, ``null``), from one JSON-facet
request. Then, for every **open proposal** for ``A`` on the collection, the products lacking
``A`` that its examples reach at its threshold (or at ``threshold`` when given) - exactly the
query the review screen uses (category-centred when the proposal is, :mod:`merch.centering`), restricted to products lacking ``A`` and minus the
candidates already rejected. A product several proposals reach is counted once.
"""

from __future__ import annotations

import json
from typing import Any

from lookalike.connection import SolrClient
from lookalike.settings import Settings
from merch.catalog import iter_docs
from merch.filters import filter_queries, load_schema
from merch.batches import value_field
from merch.propagation import MAX_CANDIDATES, list_proposals
from merch.records import confidence
from merch.scoring import Scoring, candidate_params
from lookalike.errors import BadRequest
from merch.provenance import check_attribute
from merch.store import physical_collection
from lookalike.solr_syntax import check_identifier

NONE_KEY = None


def facet_params(field: str, by_field: str) -> dict[str, Any]:
    lacking = f"*:* -{check_identifier(field)}:[* TO *]"
    terms = {"type": "terms", "field": check_identifier(by_field), "limit": -1, "missing": True, "sort": "index asc"}
    return {"q": "*:*", "rows": 0, "json.facet": json.dumps({
        "all": terms, "lacking": {"type": "query", "q": lacking, "facet": {"by": terms}},
    })}


def _buckets(facet: dict[str, Any]) -> dict[str | None, int]:
    out: dict[str | None, int] = {str(b["val"]): int(b["count"]) for b in facet.get("buckets", [])}
    if facet.get("missing", {}).get("count"):
        out[NONE_KEY] = int(facet["missing"]["count"])
    return out


def open_proposals_for(settings: Settings, client: SolrClient, collection: str, attribute: str) -> int:
    return len(list_proposals(settings, client, collection=collection, attribute=attribute))


def gap_report(settings: Settings, client: SolrClient, collection: str, attribute: str, *, by: str = "category",
               threshold: float | None = None) -> dict[str, Any]:
    check_attribute(attribute)
    physical = physical_collection(client, collection)
    schema = load_schema(client, physical)
    field = value_field(client, physical, attribute, schema)
    if field not in schema.fields and open_proposals_for(settings, client, physical, attribute) == 0:
        # a typo would otherwise read as "every product lacks it"
        raise BadRequest(
            f"no product has the attribute {attribute!r} and no proposal fills it; known attributes: "
            f"{', '.join(schema.known_names())}. To add a new one, start with "
            f"`lookalike propagate propose --attribute {attribute} --value VALUE --like ID`"
        )
    by_field = check_identifier(schema.facet_field(by).name)
    resp = client.select(physical, facet_params(field, by_field))
    total = int(resp["response"]["numFound"])
    facets = resp.get("facets", {})
    all_by = _buckets(facets.get("all", {}))
    lacking_facet = facets.get("lacking", {}) or {}
    lacking = int(lacking_facet.get("count", 0))
    lacking_by = _buckets(lacking_facet.get("by", {}))

    proposals = list_proposals(settings, client, collection=physical, attribute=attribute)
    fill_ids: dict[str, Any] = {}
    per_proposal = []
    for p in proposals:
        t = p.threshold if threshold is None else threshold
        fqs = filter_queries(client, physical, p.filter_objects(), schema)
        params = candidate_params(p, threshold=t, rows=MAX_CANDIDATES, fqs=fqs, fl=f"id,{by_field}", only_lacking=True,
                                  query=Scoring(settings, client, p).query(t))
        docs = [d for d in _all_candidates(client, physical, params) if p.decisions.get(d["id"]) != "reject"]
        per_proposal.append({"proposal": p.id, "value": p.value, "threshold": t,
                             "min_confidence": round(confidence(t), 4), "would_fill": len(docs),
                             "positives": p.positives, "negatives": p.negatives})
        for d in docs:
            fill_ids.setdefault(d["id"], d.get(by_field))
    fill_by: dict[str | None, int] = {}
    for cat in fill_ids.values():
        key = None if cat is None else str(cat[0] if isinstance(cat, list) else cat)
        fill_by[key] = fill_by.get(key, 0) + 1

    rows = []
    for key in sorted(set(all_by) | set(lacking_by), key=lambda k: (k is None, k or "")):
        rows.append({by: key, "products": all_by.get(key, 0), "lacking": lacking_by.get(key, 0),
                     "would_fill": fill_by.get(key, 0) if proposals else None})
    return {
        "collection": physical, "attribute": attribute, "field": field, "by": by, "products": total,
        "lacking": lacking, "would_fill": len(fill_ids) if proposals else None,
        "threshold": threshold, "proposals": per_proposal, "rows": rows,
        "note": None if proposals else (f"no open proposal for {attribute}: propose one "
                                        f"(`lookalike propagate propose --attribute {attribute} ...`) "
                                        "to see what propagation would fill"),
    }


def _all_candidates(client: SolrClient, collection: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every candidate above the threshold, paged with cursorMark (the set can be large)."""
    extra = {k: v for k, v in params.items() if k not in ("q", "fq", "fl", "rows", "sort")}
    return list(iter_docs(client, collection, q=params["q"], fq=params["fq"], fl=params["fl"], extra=extra))

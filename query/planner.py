"""The query planner: exact scan or HNSW ``{!knn}``, and who decides.

**In Solr** (:func:`planned_in_solr`: every request with an image target whose example ids the
plugin's lists can carry): the client sends one ``{!lookalike mode=...}`` request and each shard
decides, ``mode='auto'`` by this rule, in order:

1. ``combine='max'`` or negative examples: ``exact``. Approx search has one query vector and
   can only approximate them (Rocchio); the plugin computes their definition exactly.
2. Otherwise the shard counts the products its pre-filter (the ``fq``'s tagged ``filter``) lets
   through, from Solr's filter cache: at most the shard's crossover -> ``exact`` (verifying that
   many vectors is cheaper than the filtered graph walk, and recall is 1.0); more -> ``approx``
   (HNSW with the filters as pre-filter). The crossover grows with the shard,
   ``max(20000, 120 * sqrt(shard documents))`` (the plugin's ``SearchPlan.crossover``, fitted
   to the API's own requests at 500k and 1M in BENCHMARKS.md), unless ``exact_max_docs`` sets one number. Lucene
   applies the same kind of rule per segment inside HNSW search.

The answer reports each shard's choice and sentence (``mode_reason``; ``exact`` only when every
shard scanned exactly).

**Here** (:func:`choose_mode`): text alone (no image query to plan); ids with a comma or
white space at an end, which only HNSW can carry (the client reads their vectors); and
collections with several images per product (query/multi_image.py), whose per-field clauses the
client builds from the examples' vectors: for those the same rule runs on one ``rows=0`` count of
the whole collection (:func:`needs_count`), against ``exact_max_docs`` or, unset,
:data:`CLIENT_EXACT_MAX_DOCS` (the count is of the whole collection, not of a shard, so the
plugin's per-shard rule does not apply). The benchmarks that compare the two paths use it too.

An explicit ``mode`` is obeyed.
"""

from __future__ import annotations

from typing import Literal

from query.build import plugin_can_carry
from query.models import SearchRequest

CLIENT_EXACT_MAX_DOCS = 20_000  # the plugin's crossover floor, for the requests planned here

Resolved = Literal["approx", "exact"]


def needs_count(request: SearchRequest) -> bool:
    """Whether :func:`choose_mode` needs the filtered count to decide (client-planned requests)."""
    return (request.mode == "auto" and request.has_image_target and not _needs_exact(request)
            and _plugin_can_carry(request))


def planned_in_solr(request: SearchRequest) -> bool:
    """Whether the plugin reads the examples and plans the request on each shard (one request)."""
    return request.has_image_target and _plugin_can_carry(request)


def choose_mode(
    request: SearchRequest, filtered_count: int | None = None, exact_max_docs: int | None = None
) -> tuple[Resolved, str]:
    """The mode to run and a sentence saying why."""
    if request.mode != "auto":
        return request.mode, f"mode={request.mode} was asked for"
    if not request.has_image_target:
        return "approx", "text only: no image query to plan"
    if _needs_exact(request):
        return "exact", "combine=max and unlike examples are exact-only"
    if not _plugin_can_carry(request):
        return "approx", "an example id has a comma or white space at an end, which the exact plugin's id lists cannot carry: HNSW kNN"
    if filtered_count is None:
        raise ValueError("choose_mode needs the filtered count for this request")
    if exact_max_docs is None:
        exact_max_docs = CLIENT_EXACT_MAX_DOCS
    if filtered_count <= exact_max_docs:
        return "exact", f"filters leave {filtered_count} products (<= {exact_max_docs}): exact scan"
    return "approx", f"filters leave {filtered_count} products (> {exact_max_docs}): HNSW kNN"


def _needs_exact(request: SearchRequest) -> bool:
    examples = len(request.like) + (request.vector is not None)
    return (request.combine == "max" and examples > 1) or bool(request.unlike)


def _plugin_can_carry(request: SearchRequest) -> bool:
    """The plugin takes like/unlike as one comma-separated, trimmed list (query.build.plugin_can_carry)."""
    return all(plugin_can_carry(i) for i in (*request.like, *request.unlike))

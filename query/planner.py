"""The query planner: per request, the exact plugin or HNSW ``{!knn}``.

Rule (``mode='auto'``), in order:

1. Text alone has no image query: the mode does not matter (reported as ``approx``).
2. ``combine='max'`` or negative examples: ``exact``. Approx search has one query vector and
   can only approximate them (Rocchio); the plugin computes their definition exactly.
3. Otherwise count the products the filters let through (one ``rows=0`` request; without
   filters the collection's size, cached with the schema): at most
   ``exact_max_docs`` -> ``exact`` (verifying that many vectors is cheap and recall is 1.0);
   more -> ``approx`` (HNSW with the filters as pre-filter).

An explicit ``mode`` is obeyed. The threshold is a setting; its default comes from the
crossover measured in BENCHMARKS.md.
"""

from __future__ import annotations

from typing import Literal

from lookalike.settings import Settings
from query.models import SearchRequest

EXACT_MAX_DOCS = Settings.model_fields["exact_max_docs"].default  # the setting's default, not a copy of it

Resolved = Literal["approx", "exact"]


def needs_count(request: SearchRequest) -> bool:
    """Whether :func:`choose_mode` needs the filtered count to decide."""
    return (request.mode == "auto" and request.has_image_target and not _needs_exact(request)
            and _plugin_can_carry(request))


def choose_mode(
    request: SearchRequest, filtered_count: int | None = None, exact_max_docs: int = EXACT_MAX_DOCS
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
    if filtered_count <= exact_max_docs:
        return "exact", f"filters leave {filtered_count} products (<= {exact_max_docs}): exact scan"
    return "approx", f"filters leave {filtered_count} products (> {exact_max_docs}): HNSW kNN"


def _needs_exact(request: SearchRequest) -> bool:
    examples = len(request.like) + (request.vector is not None)
    return (request.combine == "max" and examples > 1) or bool(request.unlike)


def _plugin_can_carry(request: SearchRequest) -> bool:
    """The plugin takes like/unlike as one comma-separated, trimmed list (query.build._plugin_id)."""
    return all("," not in i and i == i.strip() for i in (*request.like, *request.unlike))

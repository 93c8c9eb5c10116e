"""Pure request building: a :class:`SearchRequest` becomes Solr parameters.

Nothing here does I/O. :func:`build_params` takes the request, the collection's
:class:`Schema` (the field allow-list), the resolved :class:`Target` (the query vector and
the examples' groups, looked up by the client) and the mode the planner chose, and returns
the ``/select`` parameters as a dict. Every user value reaches Solr through
:mod:`lookalike.solr_syntax`: quoted by :func:`~lookalike.solr_syntax.quote`, or passed by ``$reference``.

**The image query.** Scores use the vector field's ``dot_product`` on L2-normalised
vectors, so a score is ``(1 + cosine) / 2``; :func:`cosine_to_score` converts a
``min_similarity`` (cosine units) to that scale.

* ``approx`` without ``min_similarity``: ``{!knn f=vector topK=N includeTags=filter}``; the
  user's filters are ``fq``'s tagged ``filter`` and are the kNN pre-filter, so the graph
  search returns the N nearest products *that pass the filters*.
* ``approx`` with ``min_similarity``: ``{!vectorSimilarity minReturn=...}``, the set of
  products at or above the threshold (graph traversal goes a margin below it).
* ``exact``: ``{!lookalike ...}``, our plugin: exact similarity, ``minSimilarity`` in cosine
  units; like/unlike ids are read inside Solr (no vector lookup by the client), and an
  inline vector joins the liked products as one more positive example.

**Several examples in approx mode** use one query vector: the normalised mean of the
positive examples minus ``unlike_weight`` times the mean of the negative ones (Rocchio),
normalised again (:func:`combine_vectors`). The plugin's own definitions (``combine=max``,
negatives subtracted as similarities) need ``mode=exact``; the planner picks it for them.

**The similar set, and facets that are right across shards.** In SolrCloud ``{!knn topK=N}``
runs on each shard, so a facet computed in the same request would count each shard's N
nearest. Two cases:

* With ``min_similarity`` the set is a threshold set, defined per document independently of
  sharding, so facets (``json.facet`` with ``refine``) run in the same request.
* Without it the set is the global top ``candidates``: the main request fetches them all
  (rows=candidates; Solr merges the shards' lists into the global top N) and the client runs
  :func:`query.facets.facet_params` over exactly those ids. Without facets the main request asks only
  for the page.

**Text.** Text alone is an edismax query over ``title`` and the string attributes. Text
*with* an image target keeps the image query as the main query (so it still defines the
set and keeps its pre-filter) and re-ranks the top ``candidates`` with
``{!rerank reRankWeight=1}`` by a bounded text score::

    score = (1 + cosine) / 2  +  text_weight * t / (t + 2)        t = edismax BM25 score

The saturation ``t / (t + 2)`` keeps BM25's unbounded scale from drowning the image: text
adds at most ``text_weight`` and a product matching no word adds nothing. The image part
alone is returned as the ``imgscore`` pseudo-field so the answer still shows each product's
cosine similarity.

**Variants and the examples themselves.** ``exclude_self`` and ``variants='exclude'`` are one
``fq`` (``*:* -id:(...) -group:(...)``) tagged ``filter``, so they are part of the
pre-filter and the set is still N others. A query the plugin plans leaves its examples out
itself (``excludeExamples``: after the search, HNSW asking for as many more), because that
``fq`` is a new DocSet of nearly the whole index per query (about 2 ms at 500k products), and
its ``excludeGroups`` leaves out their groups before the search. ``variants='collapse'`` is
``{!collapse field=group nullPolicy=expand}``: a post filter, deliberately *not* tagged
``filter``, that keeps each group's best product; kNN fetches ``COLLAPSE_OVERFETCH`` times
more neighbours so that enough groups survive. (Collapse needs a group's products on one
shard: product collections route by group, ``router.field=_route_key``, see
lookalike/solr/cloud.py.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lookalike.errors import BadRequest
from lookalike.solr_syntax import any_of, check_identifier, local_params, number, text_terms, vector_literal
from query import multi_image
from query.facets import facet_json, filtered_fields
from query.filters import FILTER_TAG, filter_query, tagged
from query.models import BrowseRequest, Filter, SearchRequest, Sort
from query.schema import Schema

COLLAPSE_OVERFETCH = 3
# HNSW explores topK candidates per segment: its recall, not only its result size, and the
# recall of a fixed topK falls as the index grows. Measured (M=16, beamWidth=100, one merged
# segment): at 100k x 256, recall@10 0.988 at topK=80, 0.991 at 100, 0.994 at 160; at 1M x 256
# through the API (BENCHMARKS.md, the scale section's sweep), 0.983 at 200 and 0.990 at 400
# (int7: 0.981 and 0.991) for 0.2-1.0 ms more p50 -- and 0.984 at 400, 0.990 at 600 in the next
# build of the same vectors (graph builds vary). At 500k int7 (2026-12-03, after the graph is
# searched once per request, not twice): 0.987 at 400, 0.992 at 600, 0.999 at 1000, for +0.7 and
# +2.6 ms p50. Under a filter 200 already gave 0.998. The recall target is 0.99, so approx never
# asks for fewer than this many.
HNSW_MIN_TOP_K = 600
TRAVERSE_MARGIN = 0.1  # cosine units the vectorSimilarity graph walk goes below min_similarity
TEXT_SATURATION = 2.0
DEFAULT_FIELDS = ("id", "title", "group", "price", "in_stock", "image", "images", "*_s", "*_ss", "*_l", "*_d", "*_b")
SORT = "score desc,id asc"
# ``sort`` of a set Solr orders itself (a threshold set, text matches; the catalog: id, not score)
SORTS: dict[str, str] = {"relevance": SORT, "price_asc": "price asc," + SORT, "price_desc": "price desc," + SORT}
BROWSE_SORTS: dict[str, str] = {"relevance": "id asc", "price_asc": "price asc,id asc", "price_desc": "price desc,id asc"}

Params = dict[str, Any]
SetKind = Literal["threshold", "top", "text"]


@dataclass(frozen=True)
class Target:
    """What the client resolved before building (I/O stays out of this module).

    ``vector`` is the query vector (needed by approx mode, and by exact mode when the request
    carries an inline vector); ``groups`` are the examples' ``group`` values (for
    ``variants='exclude'``).
    """

    vector: tuple[float, ...] | None = None
    groups: tuple[str, ...] = ()
    # the client moved the examples' target along attribute directions (``more``/``less``): the
    # exact mode then scores this vector inline instead of reading the examples' own vectors
    steered: bool = False
    # a collection with several images per product: the query vectors (the photo, the combined
    # target, or every image of the one example), compared with every image field, best pair
    # wins (query/multi_image.py); empty: the one-field query on ``vector``
    vectors: tuple[tuple[float, ...], ...] = ()
    # planned in Solr: ``direction_weight * (sum of more - sum of less)``, which the plugin adds to
    # the examples' unit target it reads itself (the client needs no example vector)
    shift: tuple[float, ...] | None = None


def cosine_to_score(cosine: float) -> float:
    """Cosine similarity -> Lucene's dot_product score on unit vectors."""
    return (1.0 + cosine) / 2.0


def score_to_cosine(score: float) -> float:
    return 2.0 * score - 1.0


def similar_set(request: SearchRequest) -> SetKind:
    """Which set pages and facets are taken from (see the module docstring)."""
    if not request.has_image_target:
        return "text"
    return "threshold" if request.min_similarity is not None else "top"


def combine_vectors(
    likes: list[np.ndarray], unlikes: list[np.ndarray] | None = None, unlike_weight: float = 1.0
) -> np.ndarray:
    """The approx-mode query vector: normalised mean of positives minus weighted mean of negatives."""
    if not likes:
        raise ValueError("combine_vectors needs at least one positive example")
    pos = np.mean([_unit(v) for v in likes], axis=0)
    if unlikes:
        pos = pos - unlike_weight * np.mean([_unit(v) for v in unlikes], axis=0)
    return _unit(pos, what="the combined target (the negative examples cancel the positive ones)")


def _unit(v: np.ndarray, what: str = "a vector") -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise BadRequest(f"{what} has a value that is not a finite number")
    # scaled first, so that values near the float limit (1e308) do not overflow the norm
    largest = float(np.max(np.abs(v))) if v.size else 0.0
    if largest == 0.0:
        raise BadRequest(f"{what} has length zero; it has no direction to search")
    v = v / largest
    return v / float(np.linalg.norm(v))


# -- filters -----------------------------------------------------------------------------


def user_filters(filters: tuple[Filter, ...], in_stock: bool | None, schema: Schema) -> list[str]:
    """The shopper's ``fq``'s: each filter, and in-stock; each tagged ``filter`` and ``f_<field>``."""
    fqs = [filter_query(f, schema) for f in filters]
    if in_stock is not None:
        info = schema.filter_field("in_stock")
        fqs.append(tagged(info.name, f"{info.name}:{'true' if in_stock else 'false'}"))
    return fqs


def filter_queries(request: SearchRequest, schema: Schema, target: Target, *, in_solr: bool = False) -> list[str]:
    """The ``fq``'s: user filters, in-stock, exclusions (all tagged ``filter``), then collapse.
    ``in_solr``: the plugin leaves the examples out itself (``excludeExamples``)."""
    fqs = user_filters(request.filters, request.in_stock, schema)
    excluded = []
    if request.exclude_self and request.example_ids and not in_solr:
        excluded.append("-" + any_of("id", request.example_ids))
    if request.variants == "exclude" and target.groups:
        excluded.append("-" + any_of("group", sorted(set(target.groups))))
    if excluded:
        fqs.append(local_params("lucene", tag=f"{FILTER_TAG},exclude") + "*:* " + " ".join(excluded))
    if request.variants == "collapse":
        fqs.append(local_params("collapse", field="group", nullPolicy="expand"))
    return fqs


# -- the main request --------------------------------------------------------------------


def build_params(
    request: SearchRequest,
    schema: Schema,
    *,
    mode: Literal["approx", "exact", "auto"],
    target: Target = Target(),
    in_solr: bool = False,
    exact_max_docs: int | None = None,
) -> Params:
    """The ``/select`` parameters of ``request`` in ``mode``.

    ``in_solr``: the plugin reads the examples and plans each shard itself (``mode`` is the
    request's, ``auto`` included; see :func:`_planned_query`). Otherwise ``mode`` is resolved
    (``approx`` or ``exact``) and ``target`` carries what the client looked up.
    """
    if mode not in ("approx", "exact") and not (in_solr and mode == "auto"):
        raise ValueError(f"build_params needs a resolved mode, got {mode!r}")
    kind = similar_set(request)
    # a top-N set is taken by score and ordered afterwards (order_page): Solr could only sort
    # the union of each shard's kNN matches by price, not the global top N
    params: Params = {"fq": filter_queries(request, schema, target, in_solr=in_solr and kind != "text"), "sort": SORT if kind == "top" else SORTS[request.sort]}
    fields = return_fields(request, schema)
    # a text set is one edismax query: each facet leaves out its own field's filter in the same
    # request; an image query holds its pre-filter inside, so the client counts those apart
    own = filtered_fields(request, schema) if kind == "text" else set()
    facets = facet_json(request, schema, exclude=own) if request.facets else None  # checks the names in every case

    if request.text is not None:
        params["qf"] = " ".join(f"{n}^2" if n == "title" else n for n in schema.text_fields())
        params["text"] = text_terms(request.text)

    if kind == "text":
        params["q"] = local_params("edismax", qf="$qf", v="$text")
    else:
        if in_solr:
            params.update(_planned_query(request, schema, mode, target, exact_max_docs))
        elif target.vectors:
            params.update(_multi_image_query(request, schema, mode, target, params["fq"]))
        else:
            params.update(_image_query(request, schema, mode, target))
        if request.text is not None:
            params["tq"] = local_params("edismax", qf="$qf", v="$text")
            w = number(request.text_weight)
            k = number(TEXT_SATURATION)
            params["rrq"] = f"{{!func}}product({w},div(query($tq,0),sum(query($tq,0),{k})))"
            params["rq"] = local_params("rerank", reRankQuery="$rrq", reRankDocs=request.candidates, reRankWeight=1)
            fields.append("imgscore:" + ("query($img,0)" if in_solr else _image_score_function(
                "exact" if target.vectors else mode, target, schema.vector_field)))

    if fetches_whole_set(request):
        params["start"], params["rows"] = 0, request.candidates
        # the set as ids and scores (and prices, to sort by): a product's stored fields cost about
        # 80 us to read (100 of them: 8 ms at 500k), so the client reads only the page's products
        # afterwards, with page_fields (query/client.py)
        fields = ["id"] + (["price"] if request.sort != "relevance" else []) + [
            f for f in fields if f.startswith("imgscore:")]
    else:
        params["start"], params["rows"] = request.offset, request.k
        if facets:
            params["json.facet"] = facets
    params["fl"] = ",".join(fields + ["score"])
    if kind == "top" and "rq" not in params:
        # the client counts a top-N set only up to N: Solr may stop counting there, and the exact
        # scan then skips what cannot enter the top N (numFound is a lower bound past N)
        params["minExactCount"] = request.candidates
    if not params["fq"]:
        del params["fq"]
    return params


def _image_query(request: SearchRequest, schema: Schema, mode: str, target: Target) -> Params:
    field = check_identifier(schema.vector_field)
    out: Params = {}
    if mode == "approx":
        if request.combine == "max" and len(request.like) + (request.vector is not None) > 1:
            raise BadRequest("combine=max needs mode=exact (or auto); approx search uses one combined vector")
        out["vec"] = _vector_param(schema, target)
        if request.min_similarity is None:
            top_k = max(HNSW_MIN_TOP_K,
                        request.candidates * (COLLAPSE_OVERFETCH if request.variants == "collapse" else 1))
            out["q"] = local_params("knn", f=field, topK=top_k, includeTags=FILTER_TAG, v="$vec")
        else:
            s = request.min_similarity
            out["q"] = local_params(
                "vectorSimilarity",
                f=field,
                minReturn=number(cosine_to_score(s)),
                minTraverse=number(cosine_to_score(max(-1.0, s - TRAVERSE_MARGIN))),
                includeTags=FILTER_TAG,
                v="$vec",
            )
        return out
    lp: dict[str, Any] = {"f": field}
    # a steered target (more/less) is scored inline: the client combined and moved the examples
    if request.vector is not None or target.steered:
        out["vec"] = _vector_param(schema, target)
        lp["vector"] = "$vec"
    if request.like and not target.steered:
        out["like"] = ",".join(_plugin_id(i) for i in request.like)
        lp["like"] = "$like"
    if request.unlike and not target.steered:
        out["unlike"] = ",".join(_plugin_id(i) for i in request.unlike)
        lp["unlike"] = "$unlike"
        lp["unlikeWeight"] = number(request.unlike_weight)
    if len(request.like) + (request.vector is not None) > 1 and not target.steered:
        lp["combine"] = request.combine
    if request.min_similarity is not None:
        lp["minSimilarity"] = number(request.min_similarity)
    out["q"] = local_params("lookalike", **lp)
    if request.text is not None:
        out["img"] = out["q"]
    return out


def _multi_image_query(request: SearchRequest, schema: Schema, mode: str, target: Target, fqs: list[str]) -> Params:
    """The max over (image field, query vector) pairs (query/multi_image.py); the filters are the
    kNN clauses' explicit pre-filters (every ``fq`` but collapse, a post filter)."""
    for v in target.vectors:
        _vector_param(schema, Target(vector=v))  # the width check
    out: Params = multi_image.target_params(target.vectors)
    n = len(target.vectors)
    if mode == "exact":
        out["q"] = multi_image.exact_query(schema.image_fields, n, min_similarity=request.min_similarity)
    else:
        prefilters = [fq for fq in fqs if not fq.startswith("{!collapse")]
        out.update(multi_image.prefilter_params(prefilters))
        if request.min_similarity is None:
            top_k = max(HNSW_MIN_TOP_K,
                        request.candidates * (COLLAPSE_OVERFETCH if request.variants == "collapse" else 1))
            out["q"] = multi_image.approx_query(schema.image_fields, n, len(prefilters), top_k=top_k)
        else:
            s = request.min_similarity
            out["q"] = multi_image.approx_query(
                schema.image_fields, n, len(prefilters), min_return=cosine_to_score(s),
                min_traverse=cosine_to_score(max(-1.0, s - TRAVERSE_MARGIN)))
    if request.text is not None:
        out["img"] = out["q"]  # every clause carries its own pre-filter: re-run per product, it scores the same
    return out


def _planned_query(
    request: SearchRequest, schema: Schema, mode: str, target: Target, exact_max_docs: int | None
) -> Params:
    """``{!lookalike ... mode=...}``: one request whatever the mode. Each shard reads the examples'
    vectors (and groups, for ``variants='exclude'``), counts what its pre-filter (the ``fq``'s
    tagged ``filter``) leaves and scans exactly or walks HNSW with them; ``img`` is the exact
    similarity alone, for the image score under a text re-rank."""
    field = check_identifier(schema.vector_field)
    out: Params = {}
    lp: dict[str, Any] = {"f": field}
    if request.vector is not None:
        out["vec"] = _vector_param(schema, target)
        lp["vector"] = "$vec"
    if request.like:
        out["like"] = ",".join(_plugin_id(i) for i in request.like)
        lp["like"] = "$like"
    if request.unlike:
        out["unlike"] = ",".join(_plugin_id(i) for i in request.unlike)
        lp["unlike"] = "$unlike"
        lp["unlikeWeight"] = number(request.unlike_weight)
    if len(request.like) + (request.vector is not None) > 1:
        lp["combine"] = request.combine
    if target.shift is not None:
        out["shift"] = vector_literal(target.shift)
        lp["shift"] = "$shift"
    img = dict(lp, mode="exact")
    lp["mode"] = mode
    if mode == "auto" and exact_max_docs is not None:
        lp["exactMaxDocs"] = int(exact_max_docs)
    lp["includeTags"] = FILTER_TAG  # HNSW's pre-filter, auto's count, the exact scan's own filter
    if mode != "exact":
        if request.min_similarity is None:
            lp["topK"] = max(HNSW_MIN_TOP_K,
                             request.candidates * (COLLAPSE_OVERFETCH if request.variants == "collapse" else 1))
    if request.min_similarity is not None:
        lp["minSimilarity"] = number(request.min_similarity)
        if mode != "exact":
            lp["minTraverse"] = number(max(-1.0, request.min_similarity - TRAVERSE_MARGIN))
    if request.variants == "exclude" and request.like:
        lp["excludeGroups"] = "group"
    if request.exclude_self and request.example_ids:
        lp["excludeExamples"] = "true"
    out["q"] = local_params("lookalike", **lp)
    if request.text is not None:
        out["img"] = local_params("lookalike", **img)
    return out


def _image_score_function(mode: str, target: Target, field: str) -> str:
    if mode == "approx":
        # The kNN query cannot be re-run as a function (as a sub-query it would lose its
        # pre-filter), so the image score is recomputed per returned product.
        return f"vectorSimilarity({check_identifier(field)},{vector_literal(target.vector or ())})"
    return "query($img,0)"


def plugin_can_carry(product_id: str) -> bool:
    """Whether the plugin's comma-separated like/unlike lists carry ``product_id`` unchanged: no
    comma, and nothing that Python's ``strip`` or Java's ``trim`` (every character up to the
    space, control characters included) would take off its ends."""
    return ("," not in product_id and product_id == product_id.strip()
            and product_id[:1] > " " and product_id[-1:] > " ")


def _plugin_id(product_id: str) -> str:
    """An id as the plugin's comma-separated, trimmed like/unlike lists can carry it."""
    if not plugin_can_carry(product_id):
        what = "contains a comma" if "," in product_id else "starts or ends with white space or a control character"
        raise BadRequest(
            f"product id {product_id!r} {what}, which the exact mode's like/unlike lists "
            "cannot carry; use mode=approx"
        )
    return product_id


def _vector_param(schema: Schema, target: Target) -> str:
    if target.vector is None:
        raise ValueError("this request needs the resolved query vector (Target.vector)")
    if schema.vector_dims is not None and len(target.vector) != schema.vector_dims:
        raise BadRequest(
            f"the query vector has {len(target.vector)} dimensions but the index has {schema.vector_dims}; "
            "embed the image with the index's model and PCA"
        )
    return vector_literal(target.vector)


def fetches_whole_set(request: SearchRequest) -> bool:
    """Whether the main request fetches the whole top-N set (for its facets or to sort it by
    price), not just the page: it then asks only for ids and scores."""
    return similar_set(request) == "top" and (bool(request.facets) or request.sort != "relevance")


def page_fields(request: SearchRequest, schema: Schema) -> str:
    """What the page's products are read with after a whole-set request (:func:`fetches_whole_set`)."""
    return ",".join(return_fields(request, schema))


def return_fields(request: SearchRequest, schema: Schema) -> list[str]:
    if request.fields is None:
        return list(DEFAULT_FIELDS)
    names = ["id"] + [schema.resolve(f).name for f in request.fields]
    return list(dict.fromkeys(names))


def order_page(docs: list[dict[str, Any]], sort: Sort) -> list[dict[str, Any]]:
    """A top-N set (best first) in the order asked; products without a price go last."""
    if sort == "relevance":
        return docs
    priced = [d for d in docs if isinstance(d.get("price"), (int, float))]
    rest = [d for d in docs if not isinstance(d.get("price"), (int, float))]
    priced.sort(key=lambda d: d["price"], reverse=sort == "price_desc")  # stable: ties keep their rank
    return priced + rest


# -- the follow-up requests ----------------------------------------------------------------


def count_params(request: SearchRequest, schema: Schema, target: Target = Target()) -> Params:
    """How many products pass the filters: what the planner compares with its threshold."""
    fqs = [fq for fq in filter_queries(request, schema, target) if not fq.startswith("{!collapse")]
    params: Params = {"q": "*:*", "rows": 0}
    if fqs:
        params["fq"] = fqs
    return params


def browse_params(request: BrowseRequest, schema: Schema) -> Params:
    """A page of the catalog (the storefront's home grid); ``page`` counts from 1.

    Filters as in a search; ``variants='collapse'`` keeps one product per design, the first in
    the page's own order; facets count the filtered catalog, each without its own filter.
    """
    sort = BROWSE_SORTS[request.sort]
    params: Params = {"q": "*:*", "sort": sort, "start": (request.page - 1) * request.per_page,
                      "rows": request.per_page, "fl": ",".join(DEFAULT_FIELDS)}
    fqs = user_filters(request.filters, request.in_stock, schema)
    if request.variants == "collapse":
        fqs.append(local_params("collapse", field="group", nullPolicy="expand", sort="$headsort"))
        params["headsort"] = sort
    if fqs:
        params["fq"] = fqs
    if request.facets:
        params["json.facet"] = facet_json(request, schema, exclude=filtered_fields(request, schema))
    return params

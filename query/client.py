"""The search service: runs requests against Solr (the I/O around :mod:`query.build`).

:class:`SearchService` does, per search:

1. build the parameters (:func:`query.build.build_params`, pure) and run ``/select``: one
   request in every mode. The plugin ``{!lookalike}`` reads the examples' vectors and groups
   inside Solr and each shard picks exact or HNSW from what its filters leave
   (:mod:`query.planner`); the answer's ``lookalike`` section says which and why
   (``mode``/``mode_reason``). Only text alone, and example ids the plugin's comma-separated
   lists cannot carry, are planned here (those ids resolved with a real-time get, HNSW);
2. for a top-N similar set with facets, run the facet request over exactly those ids;
3. parse the answer into a :class:`SearchResponse` with each product's cosine similarity,
   the facets, Solr's summed ``QTime`` and the wall time.

The collection's :class:`Schema` is read once and cached for ``SCHEMA_TTL_S`` seconds, so a
reindex that adds attributes or swaps the alias is seen soon without a read per search
(:meth:`SearchService.refresh_schema` forgets it at once).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Callable

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound, SolrRequestError, SolrUnavailable
from lookalike.fields import FIXED_FIELDS, MAX_IMAGES_PER_PRODUCT, attribute_name, image_vector_fields
from lookalike.settings import Settings
from lookalike.solr import cloud
from query.build import (
    Target,
    browse_params,
    build_params,
    count_params,
    combine_vectors,
    fetches_whole_set,
    order_page,
    page_fields,
    score_to_cosine,
    similar_set,
    DEFAULT_FIELDS,
)
from query.facets import facet_params, own_filter_facets
from query.embedder import ImageEmbedder
from query.multi_image import best_pairs
from query.models import (
    BrowseRequest,
    CatalogPage,
    Facet,
    FacetBucket,
    Product,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
)
from query.direction_samples import DirectionSamples
from query.planner import choose_mode, needs_count, planned_in_solr
from query.schema import Schema

log = logging.getLogger(__name__)

SCHEMA_TTL_S = 60.0
# the plugin's sentence for a like/unlike id that no product has (LookalikeQParser.requireFound)
_MISSING_EXAMPLE = re.compile(r"(?:un)?like: no document with id '(.*)' \(check the id")
VECTOR_FIELDS = frozenset(image_vector_fields(MAX_IMAGES_PER_PRODUCT))


class SearchService:
    """Searches one collection or alias (default: ``settings.alias``)."""

    def __init__(
        self,
        settings: Settings,
        client: SolrClient,
        *,
        collection: str | None = None,
        embedder: ImageEmbedder | None = None,
        exact_max_docs: int | None = None,
    ):
        self.settings = settings
        self.client = client
        self.collection = collection or settings.alias
        self.embedder = embedder
        self.exact_max_docs = exact_max_docs if exact_max_docs is not None else settings.exact_max_docs
        self._schema: Schema | None = None
        self._shards: tuple[str, ...] = ()  # shard names, read with the schema (for real-time gets)
        self._schema_read_at = 0.0
        self._direction_samples = DirectionSamples(lambda params: self._select(params, _Stats()))

    # -- schema ----------------------------------------------------------------------------
    def schema(self) -> Schema:
        if self._schema is None or time.monotonic() - self._schema_read_at > SCHEMA_TTL_S:
            try:
                self._schema = self._read_schema()
            except (SolrUnavailable, SolrRequestError) as err:
                if self._schema is None:
                    raise
                # ZooKeeper or a node briefly out of reach: the schema changes only with a reindex
                log.warning("schema of %s not refreshed (%s); serving the last one", self.collection, err)
            self._schema_read_at = time.monotonic()
            self._direction_samples.clear()
        return self._schema

    def refresh_schema(self) -> None:
        self._schema = None

    def _read_schema(self) -> Schema:
        schema_json = self.client.get(f"{self.collection}/schema")["schema"]
        used: dict[str, dict[str, Any]] = {}
        for base_url, core in self._shard_cores():
            try:
                with self.client.at(base_url) as node:
                    fields = node.get(f"{core}/admin/luke", {"numTerms": 0}).get("fields", {})
            except SolrUnavailable:
                # the node's own address is not reachable from here (Solr in a container):
                # the collection's luke answers for one shard, which is the best we can see
                log.warning("cannot reach %s for core %s; listing fields through %s", base_url, core, self.client.base_url)
                fields = self.client.get(f"{self.collection}/admin/luke", {"numTerms": 0}).get("fields", {})
            for name, info in fields.items():
                if info.get("dynamicBase"):
                    used[name] = {"name": name, "type": info.get("type")}
        return Schema.from_solr(schema_json, list(used.values()))

    def _shard_cores(self) -> list[tuple[str, str]]:
        """One active replica (base URL, core) per shard of each collection behind the name."""
        aliases = self.client.collections_api("LISTALIASES").get("aliases", {})
        collections = aliases.get(self.collection, self.collection).split(",")
        out = []
        shards: list[str] = []
        for name in collections:
            status = self.client.collections_api("CLUSTERSTATUS", collection=name)
            coll = status.get("cluster", {}).get("collections", {}).get(name)
            if coll is None:
                raise NotFound(f"collection {name!r} does not exist")
            shards += [s for s in coll.get("shards", {}) if s not in shards]
            for shard in coll.get("shards", {}).values():
                active = [r for r in shard.get("replicas", {}).values() if r.get("state") == "active"]
                active.sort(key=lambda r: r.get("leader") != "true")
                if active:
                    out.append((active[0]["base_url"], active[0]["core"]))
        self._shards = tuple(shards)
        return out

    # -- products --------------------------------------------------------------------------
    def get_product(self, product_id: str) -> Product:
        return self._to_product(self._get_docs([product_id], ",".join(DEFAULT_FIELDS))[product_id])

    def products_with_vectors(self, ids: list[str]) -> dict[str, tuple[Product, np.ndarray]]:
        """Each product and its images' stored vectors (one row per image, the main one first)."""
        schema = self.schema()
        docs = self._get_docs(ids, ",".join((*DEFAULT_FIELDS, *schema.image_fields)))
        out = {}
        for i in ids:
            rows = [docs[i][f] for f in schema.image_fields if docs[i].get(f)]
            if not rows:
                raise BadRequest(f"product {i!r} has no image vector")
            out[i] = (self._to_product(docs[i]), np.asarray(rows, dtype=np.float64))
        return out

    def browse(self, request: BrowseRequest | None = None, **options: Any) -> CatalogPage:
        """A page of the catalog: by id or price, filtered, with facets (one request)."""
        request = request or BrowseRequest.model_validate(options)
        schema = self.schema()
        resp = self._select(browse_params(request, schema), _Stats())
        return CatalogPage(
            products=tuple(self._to_product(d) for d in resp["response"]["docs"]),
            total=int(resp["response"]["numFound"]),
            page=request.page,
            per_page=request.per_page,
            facets=self._to_facets(request, schema, resp.get("facets")),
            qtime_ms=int(resp.get("responseHeader", {}).get("QTime", 0)),
        )

    def _get_docs(self, ids: list[str] | tuple[str, ...], fl: str) -> dict[str, dict[str, Any]]:
        """Real-time get of ``ids`` from every shard; :class:`NotFound` naming any that do not exist."""
        self.schema()  # reads the shard names too
        found = cloud.real_time_get(self.client, self.collection, ids, fl=fl, shards=self._shards)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound("no product with id " + ", ".join(repr(i) for i in missing))
        return found

    # -- searching -------------------------------------------------------------------------
    def similar(self, request: SimilarRequest) -> SearchResponse:
        return self.search(request.to_search())

    def search_image(self, data: bytes, request: SearchRequest | None = None, **options: Any) -> SearchResponse:
        """Search by an uploaded image (and anything else ``request``/``options`` say)."""
        if self.embedder is None:
            raise BadRequest("image search is not available: no embedding model is loaded")
        vector = tuple(float(x) for x in np.asarray(self.embedder.embed_query_image(data)).ravel())
        base = request.model_dump() if request is not None else {}
        base.update(options)
        base["vector"] = vector
        return self.search(SearchRequest.model_validate(base))

    def search(self, request: SearchRequest) -> SearchResponse:
        t0 = time.perf_counter()
        schema = self.schema()
        stats = _Stats()

        if planned_in_solr(request) and not schema.several_images:
            # one request: the plugin reads the examples and plans each shard itself
            mode, reason = request.mode, ""
            target = self._planned_target(request)

            def build(r: SearchRequest, target: Target = target) -> dict[str, Any]:
                return build_params(r, schema, mode=r.mode, target=target, in_solr=True, exact_max_docs=self.exact_max_docs)
        else:
            # text alone, ids the plugin's lists cannot carry, several images per product:
            # planned (a rows=0 count when needed) and resolved (a real-time get) here
            count = self._count(request, schema, stats) if needs_count(request) else None
            mode, reason = choose_mode(request, count, self.exact_max_docs)
            target = self._resolve(request, mode)

            def build(r: SearchRequest, target: Target = target, mode: str = mode) -> dict[str, Any]:
                return build_params(r, schema, mode=mode, target=target)  # type: ignore[arg-type]
        resp = self._select(build(request), stats)
        plan = resp.get("lookalike")
        if isinstance(plan, dict) and plan.get("mode") in ("exact", "approx"):
            mode, reason = plan["mode"], str(plan.get("reason", ""))
            if plan.get("vectors"):  # one shard's: how its exact scan read the filter's vectors
                reason = f"{reason}; {plan['vectors']}"
        elif mode == "auto":
            mode, reason = "exact", "no shard reported a plan (no product matched on any): exact"
        docs = resp["response"]["docs"]
        kind = similar_set(request)
        facets_json = resp.get("facets")
        if kind == "top":
            total = min(int(resp["response"]["numFound"]), request.candidates)
            if fetches_whole_set(request):  # the main request fetched the whole set, ids and scores
                if request.facets:
                    # 4. facets over exactly the global top-N ids
                    ids = [d["id"] for d in docs]
                    facets_json = self._select(facet_params(request, schema, ids), stats).get("facets")
                total = len(docs)
                docs = self._whole(order_page(docs, request.sort)[request.offset : request.offset + request.k],
                                   request, schema, stats)
        else:
            total = int(resp["response"]["numFound"])
        if kind != "text" and request.facets:
            # 5. a facet on a filtered field counts the same search without that filter
            facets_json = dict(facets_json or {})
            for field, without in own_filter_facets(request, schema):
                facets_json[field] = self._facets_of(without, build, stats).get(field, {})

        matched = self._matched_images(docs, target, schema)
        products = tuple(self._to_product(d, image_score=kind != "text", matched_image=m) for d, m in zip(docs, matched))
        return SearchResponse(
            products=products,
            total=total,
            similar_set=kind,
            facets=self._to_facets(request, schema, facets_json),
            mode=mode,
            mode_reason=reason,
            solr_requests=stats.requests,
            qtime_ms=stats.qtime_ms,
            took_ms=round((time.perf_counter() - t0) * 1000.0, 3),
        )

    def _whole(self, page: list[dict[str, Any]], request: SearchRequest, schema: Schema,
               stats: "_Stats") -> list[dict[str, Any]]:
        """The page's products with every field asked for, in the page's order, with the scores the
        set was ranked by (one real-time get; a product deleted since drops out of the page)."""
        if not page:
            return page
        found = cloud.real_time_get(self.client, self.collection, [str(d["id"]) for d in page],
                                    fl=page_fields(request, schema), shards=self._shards)
        stats.requests += 1
        return [{**found[str(d["id"])], **d} for d in page if str(d["id"]) in found]

    def _facets_of(self, request: SearchRequest, build: Callable[[SearchRequest], dict[str, Any]],
                   stats: _Stats) -> dict[str, Any]:
        """The facets of ``request``'s similar set, built as the main request was (``build``): its
        main request, and for a top-N set the facet request over its ids."""
        resp = self._select(build(request), stats)
        if similar_set(request) != "top":
            return resp.get("facets") or {}
        ids = [d["id"] for d in resp["response"]["docs"]]
        return self._select(facet_params(request, self.schema(), ids), stats).get("facets") or {}

    def _count(self, request: SearchRequest, schema: Schema, stats: _Stats) -> int:
        """Products the filters let through (the client-planned path only)."""
        resp = self._select(count_params(request, schema), stats)
        return int(resp["response"]["numFound"])

    def _planned_target(self, request: SearchRequest) -> Target:
        """What the client adds to a request the plugin plans: the unit inline vector, and the
        attribute directions' shift (``more``/``less``), computed from cached samples."""
        vector = _tuple(combine_vectors([np.asarray(request.vector)])) if request.vector is not None else None
        if not (request.more or request.less):
            return Target(vector=vector)
        return Target(vector=vector, shift=_tuple(self._direction_samples.shift(request, self.schema())))

    def _resolve(self, request: SearchRequest, mode: str) -> Target:
        """Vectors and groups of the examples, as far as ``mode`` and ``request`` need them."""
        schema = self.schema()
        if schema.several_images and request.has_image_target and not request.unlike and not (
                request.combine == "max" and len(request.like) + (request.vector is not None) > 1):
            return self._resolve_images(request, schema)
        need_groups = request.variants == "exclude" and bool(request.like)
        positives_inline = [np.asarray(request.vector)] if request.vector is not None else []
        steering = bool(request.more or request.less)
        # exact: the plugin reads like/unlike vectors itself, unless the target is to be moved
        need_vectors = (mode == "approx" or steering) and request.has_image_target
        if not request.example_ids or not (need_vectors or need_groups):
            vector = combine_vectors(positives_inline) if positives_inline else None
            return Target(vector=_tuple(vector))
        fl = "id,group" + (",vector" if need_vectors else "")
        ids = request.example_ids if need_vectors else request.like
        docs = self._get_docs(ids, fl)
        groups = tuple(str(docs[i]["group"]) for i in request.like if docs[i].get("group") is not None)
        if not need_vectors:
            return Target(vector=_tuple(combine_vectors(positives_inline)) if positives_inline else None, groups=groups)

        def vec(i: str) -> np.ndarray:
            if not docs[i].get("vector"):
                raise BadRequest(f"product {i!r} has no image vector to search with")
            return np.asarray(docs[i]["vector"], dtype=np.float64)

        likes = positives_inline + [vec(i) for i in request.like]
        unlikes = [vec(i) for i in request.unlike] if mode == "approx" or steering else []
        target = combine_vectors(likes, unlikes, request.unlike_weight)
        if steering:
            return self._steered(request, target, groups)
        return Target(vector=_tuple(target), groups=groups)

    def _resolve_images(self, request: SearchRequest, schema: Schema) -> Target:
        """Several images per product (query/multi_image.py): the query vectors are the one
        example's images (or the photo), else the examples' main images combined (and steered)."""
        docs = self._get_docs(request.like, "id,group," + ",".join(schema.image_fields)) if request.like else {}
        groups = tuple(str(docs[i]["group"]) for i in request.like if docs[i].get("group") is not None)
        inline = [np.asarray(request.vector)] if request.vector is not None else []
        if len(request.like) + len(inline) == 1 and not (request.more or request.less):
            rows = inline or [np.asarray(docs[request.like[0]][f], dtype=np.float64)
                              for f in schema.image_fields if docs[request.like[0]].get(f)]
            if not rows:
                raise BadRequest(f"product {request.like[0]!r} has no image vector to search with")
            targets = [combine_vectors([r]) for r in rows]
            return Target(vector=_tuple(targets[0]), groups=groups, vectors=tuple(_tuple(t) for t in targets))
        for i in request.like:
            if not docs[i].get(schema.vector_field):
                raise BadRequest(f"product {i!r} has no image vector to search with")
        target = combine_vectors(inline + [np.asarray(docs[i][schema.vector_field], dtype=np.float64)
                                           for i in request.like])
        if request.more or request.less:
            target = np.asarray(self._steered(request, target, groups).vector)
        return Target(vector=_tuple(target), groups=groups, vectors=(_tuple(target),))

    def _matched_images(self, docs: list[dict[str, Any]], target: Target, schema: Schema) -> list[int | None]:
        """Which of each product's images is closest to the query (several images per product)."""
        if not target.vectors or not docs:
            return [None] * len(docs)
        stored = self._get_docs([str(d["id"]) for d in docs], "id," + ",".join(schema.image_fields))
        images = [np.asarray([stored[str(d["id"])][f] for f in schema.image_fields if stored[str(d["id"])].get(f)])
                  for d in docs]
        return [n for n, _ in best_pairs(np.asarray(target.vectors), images)]

    # -- attribute directions ----------------------------------------------------------------
    def _steered(self, request: SearchRequest, target: np.ndarray, groups: tuple[str, ...]) -> Target:
        moved = self._direction_samples.steered(request, target, self.schema())
        return Target(vector=_tuple(moved), groups=groups, steered=True)

    def _select(self, params: dict[str, Any], stats: _Stats) -> dict[str, Any]:
        try:
            resp = self.client.select(self.collection, params)
        except SolrRequestError as err:
            if err.solr_status == 404:
                raise NotFound(f"collection or alias {self.collection!r} does not exist: build it with `lookalike index`") from err
            missing = _MISSING_EXAMPLE.search(str(err)) if err.solr_status == 400 else None
            if missing:  # the plugin read the examples and one is not in the collection
                raise NotFound(f"no product with id {missing.group(1)!r}") from err
            raise
        stats.requests += 1
        stats.qtime_ms += int(resp.get("responseHeader", {}).get("QTime", 0))
        return resp

    # -- parsing ---------------------------------------------------------------------------
    @staticmethod
    def _to_product(doc: dict[str, Any], image_score: bool = False, matched_image: int | None = None) -> Product:
        score = doc.get("score")
        img = doc.get("imgscore", score if image_score else None)
        attributes = {
            attribute_name(k): v
            for k, v in doc.items()
            if k not in FIXED_FIELDS and k not in VECTOR_FIELDS and k not in ("score", "imgscore", "_version_", "_root_")
        }
        return Product(
            id=str(doc["id"]),
            title=doc.get("title"),
            group=doc.get("group"),
            price=doc.get("price"),
            in_stock=doc.get("in_stock"),
            image=doc.get("image"),
            images=tuple(doc.get("images") or ([doc["image"]] if doc.get("image") else [])),
            matched_image=matched_image,
            attributes=attributes,
            score=score,
            similarity=None if img is None else round(score_to_cosine(float(img)), 6),
        )

    @staticmethod
    def _to_facets(request: SearchRequest | BrowseRequest, schema: Schema, facets_json: dict[str, Any] | None) -> tuple[Facet, ...]:
        if not request.facets:
            return ()
        out = []
        for name in request.facets:
            field = schema.facet_field(name).name
            buckets = (facets_json or {}).get(field, {}).get("buckets", [])
            out.append(
                Facet(
                    name=name,
                    field=field,
                    buckets=tuple(FacetBucket(value=b["val"], count=int(b["count"])) for b in buckets),
                )
            )
        return tuple(out)


class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.qtime_ms = 0


def _tuple(v: np.ndarray | None) -> tuple[float, ...] | None:
    return None if v is None else tuple(float(x) for x in v)

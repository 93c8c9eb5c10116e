"""The HTTP API and the storefront page: one FastAPI app built from one :class:`Settings`.

Routes (OpenAPI at ``/docs``):

* ``GET  /api/products`` a page of the catalog (browsing); ``GET /api/products/{id}`` one product
* ``GET  /api/products/{id}/similar`` more like a product, with filters, facets, paging
* ``POST /api/search`` the full request of :class:`query.models.SearchRequest` as JSON
* ``POST /api/search/image`` a photo (multipart ``file``), embedded with the index's model and PCA
* ``GET  /api/health`` Solr, alias, collection, model and PCA manifest, warnings
* ``GET  /images/{id}`` a product's image; ``GET /`` the page; ``/static/*`` its files

Errors are mapped once, here: a :class:`LookalikeError` answers its ``http_status``, request
validation answers 400, and anything else is logged and answers 500 with a generic sentence.
Every error body is ``{"error": "<a sentence>", "status": <code>}``; no stack trace leaves
the process. Uploads are limited twice: by ``Content-Length`` and while the body streams
(:class:`BodyLimit`, which also caps JSON bodies), then by bytes and pixels when decoded (:func:`indexer.images.decode_image`).
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, LookalikeError, NotFound, PayloadTooLarge, SolrRequestError
from lookalike.settings import Settings
from query.build import DEFAULT_FIELDS
from query.client import SearchService
from query.live_index import ImageEmbedder, LiveIndex
from query.models import (
    MAX_K,
    MAX_OFFSET,
    Filter,
    Product,
    QueryOptions,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
    parse_request,
)
from query.product_images import LocalImage, resolve_image

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
UPLOAD_PATH = "/api/search/image"
MULTIPART_ENVELOPE_BYTES = 64 * 1024  # room for the multipart headers around the file
MAX_PAGE_SIZE = 100
MAX_JSON_BODY_BYTES = 1_000_000  # a search request, even with a 1024-wide vector, is a few kB
TIMING_HEADER = "X-Response-Time-Ms"


# -- one error shape ----------------------------------------------------------------------


class ErrorBody(BaseModel):
    """The one error shape."""

    error: str = Field(description="What went wrong, as a sentence that says what to fix.")
    status: int = Field(description="The HTTP status, repeated.")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: these statuses answer :class:`ErrorBody`."""
    return {status: {"model": ErrorBody} for status in statuses}


def as_json(model: BaseModel) -> Response:
    """A response model as JSON, serialised once by pydantic.

    The model was validated when it was built; returning it to FastAPI would validate it again
    and encode it twice (about a millisecond per page of products). ``response_model`` on the
    route still documents it in OpenAPI.
    """
    return Response(model.model_dump_json(), media_type="application/json")


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def describe_request_error(err: RequestValidationError) -> str:
    """FastAPI's validation errors as one sentence: where, what is wrong, and so what to fix."""
    parts = []
    for e in err.errors()[:5]:
        loc = [str(p) for p in e.get("loc", ())]
        where = ""
        if loc and loc[0] in ("query", "path", "header"):
            where = f"{loc[0]} parameter {'.'.join(loc[1:])}"
        elif loc and loc[0] == "body":
            where = "body" + ("." + ".".join(loc[1:]) if len(loc) > 1 else "")
        elif loc:
            where = ".".join(loc)
        msg = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        if e.get("type") == "missing":
            msg = "is required"
        elif e.get("type") == "extra_forbidden":
            msg = "is not a known option"
        elif e.get("type") == "json_invalid":
            msg = "is not valid JSON"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "the request is not valid"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LookalikeError)
    async def _lookalike(request: Request, err: LookalikeError) -> JSONResponse:
        if err.http_status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, err)
        return error_response(err.http_status, err.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_request_error(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = {404: f"there is no {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
        return error_response(err.status_code, message.get(err.status_code, str(err.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        return error_response(500, "something went wrong on our side; the error is in the server log")


# -- ASGI middleware ------------------------------------------------------------------------


class BodyLimit:
    """Refuses a POST body over its path's limit (``limits``: path -> bytes) with 413 before the
    app parses it.

    ``Content-Length`` is checked first; a body without one (chunked) is counted as it
    streams and buffered (at most the limit), then handed to the app unchanged.
    """

    def __init__(self, app: Any, *, limits: dict[str, int]):
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        what = "upload" if scope["path"] == UPLOAD_PATH else "request body"
        too_large = PayloadTooLarge(f"the {what} is larger than {limit:,} bytes; send a smaller one")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await error_response(400, "the Content-Length header is not a number")(scope, receive, send)
                    return
                if declared > limit:
                    await error_response(413, too_large.message)(scope, receive, send)
                    return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > limit:
                await error_response(413, too_large.message)(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ResponseTime:
    """Adds ``X-Response-Time-Ms``: the time from request to the first byte of the answer."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(TIMING_HEADER.lower().encode(), f"{ms:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed_send)


# -- the services behind the routes -----------------------------------------------------------


class Services:
    """Everything the routes use, built once per app from the one :class:`Settings`."""

    def __init__(self, settings: Settings, *, images_root: Path | None = None):
        self.settings = settings
        self.images_root = images_root
        self.client = SolrClient(settings)
        self.live = LiveIndex(settings, self.client)
        self.embedder = ImageEmbedder(settings, self.client, self.live)
        self.search = SearchService(settings, self.client, embedder=self.embedder)
        self._pca_manifests: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    def image_root(self) -> Path:
        return self.images_root if self.images_root is not None else self.live.catalog_dir()

    def pca_manifest(self, version: str) -> dict[str, Any]:
        if version not in self._pca_manifests:
            from indexer.meta import MetadataStore

            reducer = MetadataStore(self.client, self.settings).get_pca(version)
            self._pca_manifests[version] = dict(reducer.manifest_)
        return self._pca_manifests[version]


# -- request parsing shared by the similar and image routes -------------------------------------


def parse_filters(raw: list[str]) -> tuple[Filter, ...]:
    """``field:value`` (repeatable; the same field twice means either value), ``field:a|b``,
    ``price:10..50`` (a range; either end may be left out)."""
    values_by_field: dict[str, list[str]] = {}
    ranges: list[Filter] = []
    for text in raw:
        field, sep, value = text.partition(":")
        if not sep or not field.strip() or not value:
            raise BadRequest(f"filter {text!r} should look like field:value (or field:min..max for a range)")
        parsed = Filter.parse(f"{field.strip()}={value}")
        if parsed.values:
            values_by_field.setdefault(parsed.field, []).extend(str(v) for v in parsed.values)
        else:
            ranges.append(parsed)
    merged = [
        parse_request(Filter, {"field": f, "values": tuple(dict.fromkeys(vs))}) for f, vs in values_by_field.items()
    ]
    return tuple(merged + ranges)


def options_from_query(
    *,
    k: int,
    offset: int,
    filter: list[str],
    min_similarity: float | None,
    facet: list[str],
    variants: str,
    mode: str,
    in_stock: bool | None,
    candidates: int | None,
) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "k": k,
        "offset": offset,
        "filters": parse_filters(filter),
        "min_similarity": min_similarity,
        "facets": tuple(facet),
        "variants": variants,
        "mode": mode,
        "in_stock": in_stock,
    }
    if candidates is not None:
        opts["candidates"] = candidates
    elif min_similarity is None:
        # Room for a few pages of similar products by default.
        opts["candidates"] = max(100, offset + k)
    return opts


K = Annotated[int, Query(ge=1, le=MAX_K, description="Products per page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Products to skip (paging).")]
Filters = Annotated[
    list[str],
    Query(description="Repeatable `field:value` (same field twice: either value), `field:a|b`, or `price:10..50`."),
]
MinSimilarity = Annotated[float | None, Query(ge=-1.0, le=1.0, description="Cosine similarity a product needs, -1..1.")]
Facets = Annotated[list[str], Query(description="Repeatable: fields to count over the similar set.")]
VariantsQ = Annotated[
    Literal["exclude", "collapse", "include"],
    Query(description="Products of the same `group`: exclude them, collapse to one per group, or include them."),
]
ModeQ = Annotated[Literal["approx", "exact", "auto"], Query(description="approx (HNSW), exact (plugin) or auto.")]
InStock = Annotated[bool | None, Query(description="Only products in stock (true) or out of stock (false).")]
Candidates = Annotated[int | None, Query(ge=1, le=1000, description="Size of the similar set (top products).")]


def query_options(
    k: K = 10,
    offset: Offset = 0,
    filter: Filters = [],  # noqa: B006 - FastAPI copies defaults
    min_similarity: MinSimilarity = None,
    facet: Facets = [],  # noqa: B006
    variants: VariantsQ = "include",
    mode: ModeQ = "auto",
    in_stock: InStock = None,
    candidates: Candidates = None,
) -> dict[str, Any]:
    """The search options every GET-style search endpoint takes from its query string (a dependency)."""
    return options_from_query(
        k=k, offset=offset, filter=filter, min_similarity=min_similarity, facet=facet,
        variants=variants, mode=mode, in_stock=in_stock, candidates=candidates,
    )


OptionsQ = Annotated[dict[str, Any], Depends(query_options)]


# -- the app ------------------------------------------------------------------------------------


def create_app(settings: Settings, *, images_root: Path | None = None) -> FastAPI:
    """The app. ``images_root``: serve product images from there instead of the catalog's folder."""
    services = Services(settings, images_root=images_root)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        services.close()

    app = FastAPI(
        title="Lookalike",
        version="0.1.0",
        description="Visual similarity search for product catalogs, on Apache Solr. "
        'Every error answers `{"error": "<what to fix>", "status": <code>}`.',
        lifespan=lifespan,
    )
    app.state.services = services
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limits={
        UPLOAD_PATH: settings.max_image_bytes + MULTIPART_ENVELOPE_BYTES,
        "/api/search": MAX_JSON_BODY_BYTES,
    })
    app.add_middleware(ResponseTime)

    # -- products ---------------------------------------------------------------------
    @app.get("/api/products", tags=["products"], summary="Browse the catalog, a page at a time",
             responses=errors(400, 404, 503))
    def browse(
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 24,
    ) -> dict[str, Any]:
        return browse_catalog(services, page=page, per_page=per_page)

    @app.get("/api/products/{product_id:path}/similar", tags=["search"], summary="Products that look like this one",
             responses=errors(400, 404, 503), response_model=SearchResponse)
    def similar(product_id: str, opts: OptionsQ) -> Response:
        request = parse_request(SimilarRequest, {"id": product_id, **opts})
        return as_json(run_search(services, request.to_search()))

    @app.get("/api/products/{product_id:path}", tags=["products"], summary="One product",
             responses=errors(404, 503), response_model=Product)
    def product(product_id: str) -> Response:
        return as_json(services.search.get_product(product_id))

    # -- search -----------------------------------------------------------------------
    @app.post("/api/search", tags=["search"], summary="Similar to products, an image vector and/or text",
              responses=errors(400, 404, 503), response_model=SearchResponse)
    def search(request: SearchRequest) -> Response:
        return as_json(run_search(services, request))

    @app.post(UPLOAD_PATH, tags=["search"], summary="Products that look like an uploaded photo",
              responses=errors(400, 404, 413, 503), response_model=SearchResponse)
    async def search_image(
        file: Annotated[UploadFile, File(description="The photo (JPEG, PNG, WebP ...).")],
        opts: OptionsQ,
        text: Annotated[str | None, Query(max_length=500, description="Text to combine with the photo.")] = None,
    ) -> Response:
        data = await file.read(settings.max_image_bytes + 1)
        if len(data) > settings.max_image_bytes:
            raise PayloadTooLarge(
                f"the image is larger than {settings.max_image_bytes:,} bytes; send a smaller one"
            )
        if not data:
            raise BadRequest("the uploaded file is empty; send an image in the `file` field")
        options = parse_request(QueryOptions, opts)  # checked before the (slow) embedding
        return as_json(await run_in_threadpool(services.search.search_image, data, options, text=text))

    # -- health -----------------------------------------------------------------------
    @app.get("/api/health", tags=["health"], summary="Solr, alias, collection, model and PCA manifest",
             responses=errors(503))
    def health() -> dict[str, Any]:
        return _health(services)

    # -- images and the page -------------------------------------------------------------
    @app.get("/images/{product_id:path}", tags=["products"], summary="A product's image", response_model=None,
             responses=errors(404, 503))
    def image(product_id: str) -> FileResponse | RedirectResponse:
        product = services.search.get_product(product_id)
        found = resolve_image(product.image or "", services.image_root())
        if isinstance(found, LocalImage):
            return FileResponse(
                found.path,
                media_type=found.media_type,
                headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
            )
        return RedirectResponse(found.url, status_code=302)

    @app.get("/", include_in_schema=False)
    def storefront() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    _include_merch(app, settings, services.client)
    _document_400_not_422(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _document_400_not_422(app: FastAPI) -> None:
    """Validation errors answer 400 here (see the handlers), so OpenAPI must not promise 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for path in spec.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {"description": "Bad request",
                                                     "content": {"application/json": {"schema": {
                                                         "$ref": "#/components/schemas/ErrorBody"}}}})
            spec.get("components", {}).get("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _include_merch(app: FastAPI, settings: Settings, client: SolrClient) -> None:
    """The merchandising routes and pages (``/api/merch``, ``/merch``, ``/navigate``), when installed."""
    try:
        from merch.api import create_router
    except ModuleNotFoundError as err:
        if err.name not in ("merch", "merch.api"):
            raise
        log.info("the merch package is not importable: serving without the merchandising routes")
        return
    app.include_router(create_router(settings, client))


def run_search(services: Services, request: SearchRequest) -> SearchResponse:
    """Run ``request``; an example id Solr could not find is a 404, whichever mode ran.

    (In exact mode the plugin reads the examples inside Solr and answers 400 for an unknown id;
    only then are the ids looked up, so the common path costs nothing extra.)
    """
    try:
        return services.search.search(request)
    except SolrRequestError as err:
        if err.http_status == 400 and request.example_ids:
            for product_id in request.example_ids:
                services.search.get_product(product_id)  # NotFound for an unknown id
        raise


def browse_catalog(services: Services, *, page: int, per_page: int) -> dict[str, Any]:
    """A page of the whole catalog, by id (the storefront's "browse" grid)."""
    params = {"q": "*:*", "sort": "id asc", "start": (page - 1) * per_page, "rows": per_page,
              "fl": ",".join(DEFAULT_FIELDS)}
    try:
        resp = services.client.select(services.search.collection, params)
    except SolrRequestError as err:
        if err.solr_status == 404:
            raise NotFound(f"there is no index behind alias {services.search.collection}: run `lookalike index`") from err
        raise
    products = [SearchService._to_product(d).model_dump(mode="json") for d in resp["response"]["docs"]]
    return {
        "products": products,
        "total": int(resp["response"]["numFound"]),
        "page": page,
        "per_page": per_page,
        "qtime_ms": int(resp.get("responseHeader", {}).get("QTime", 0)),
    }


def facet_fields(schema: Any) -> list[str]:
    """Attributes worth a facet in the sidebar: the string and boolean ones, by user name."""
    names = []
    for name in schema.known_names():
        info = schema.resolve(name)
        if info.kind in ("string", "boolean") and name not in ("id", "title", "image", "model", "pca_version", "group"):
            names.append(name)
    return names


def _health(services: Services) -> dict[str, Any]:
    """200 with what the page needs; a problem short of Solr being down is listed, not raised."""
    settings = services.settings
    services.client.get("admin/info/system", timeout_s=5)  # SolrUnavailable -> 503
    out: dict[str, Any] = {
        "ok": True,
        "solr": {"reachable": True, "url": services.client.base_url},
        "alias": settings.alias,
        "collection": None,
        "index": None,
        "model": None,
        "pca": None,
        "facet_fields": [],
        "warnings": [],
        "problems": [],
    }
    try:
        record = services.live.record()
    except (NotFound, SolrRequestError) as err:
        out["ok"] = False
        out["problems"].append(str(err))
        return out
    out["collection"] = record.collection
    out["index"] = asdict(record)
    loaded = services.embedder.manifest()
    if loaded is not None:
        out["model"] = {**loaded["model"], "loaded": True}
    else:  # the model loads on the first photo upload
        out["model"] = {
            "model": record.model,
            "weights_sha256": record.weights_sha256,
            "random_weights": record.random_weights,
            "loaded": False,
        }
    if record.warning():
        out["warnings"].append(record.warning())
    try:
        out["pca"] = services.pca_manifest(record.pca_version)
    except LookalikeError as err:
        out["ok"] = False
        out["problems"].append(f"PCA {record.pca_version}: {err}")
    try:
        out["facet_fields"] = facet_fields(services.search.schema())
    except LookalikeError as err:
        out["problems"].append(f"schema: {err}")
    return out

"""The search routes: more like a product, the full JSON request, and search by photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lookalike.errors import BadRequest, PayloadTooLarge, SolrRequestError
from lookalike.settings import Settings
from query.models import Id, QueryOptions, SearchRequest, SearchResponse, SimilarRequest, parse_request

from .errors import as_json, errors
from .params import OptionsQ
from .services import Services

UPLOAD_PATH = "/api/search/image"
MULTIPART_ENVELOPE_BYTES = 64 * 1024  # room for the multipart headers around the file
MAX_JSON_BODY_BYTES = 1_000_000  # a search request, even with a 1024-wide vector, is a few kB


def body_limits(settings: Settings) -> dict[str, int]:
    """The largest body each POST route reads (path -> bytes), for :class:`~query.http.middleware.BodyLimit`."""
    return {
        UPLOAD_PATH: settings.max_image_bytes + MULTIPART_ENVELOPE_BYTES,
        "/api/search": MAX_JSON_BODY_BYTES,
    }


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


def router(services: Services) -> APIRouter:
    settings = services.settings
    api = APIRouter()

    @api.get("/api/products/{product_id:path}/similar", tags=["search"], summary="Products that look like this one",
             responses=errors(400, 404, 503), response_model=SearchResponse)
    def similar(product_id: Id, opts: OptionsQ) -> Response:
        request = parse_request(SimilarRequest, {"id": product_id, **opts})
        return as_json(run_search(services, request.to_search()))

    @api.post("/api/search", tags=["search"], summary="Similar to products, an image vector and/or text",
              responses=errors(400, 404, 503), response_model=SearchResponse)
    def search(request: SearchRequest) -> Response:
        return as_json(run_search(services, request))

    @api.post(UPLOAD_PATH, tags=["search"], summary="Products that look like an uploaded photo",
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

    return api

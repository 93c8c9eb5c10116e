"""Catalog browsing: a page of the catalog, one product, a product's image."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from lookalike.errors import NotFound, SolrRequestError
from query.build import DEFAULT_FIELDS
from query.client import SearchService
from query.models import Product
from query.product_images import LocalImage, resolve_image

from .errors import as_json, errors
from .services import Services

MAX_PAGE_SIZE = 100


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


def router(services: Services) -> APIRouter:
    api = APIRouter()

    @api.get("/api/products", tags=["products"], summary="Browse the catalog, a page at a time",
             responses=errors(400, 404, 503))
    def browse(
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 24,
    ) -> dict[str, Any]:
        return browse_catalog(services, page=page, per_page=per_page)

    @api.get("/api/products/{product_id:path}", tags=["products"], summary="One product",
             responses=errors(404, 503), response_model=Product)
    def product(product_id: str) -> Response:
        return as_json(services.search.get_product(product_id))

    @api.get("/images/{product_id:path}", tags=["products"], summary="A product's image", response_model=None,
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

    return api

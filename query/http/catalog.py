"""Catalog browsing: a page of the catalog, one product, a product's image."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from lookalike.errors import NotFound
from lookalike.fields import MAX_IMAGES_PER_PRODUCT
from query.filters import parse_filters
from query.models import BrowseRequest, CatalogPage, Id, Product, parse_request
from query.product_images import LocalImage, resolve_image

from .errors import as_json, errors
from .params import FacetLimit, Facets, Filters, InStock, SortQ
from .services import Services

MAX_PAGE_SIZE = 100


def router(services: Services) -> APIRouter:
    api = APIRouter()

    @api.get("/api/products", tags=["products"], summary="Browse the catalog, a page at a time",
             responses=errors(400, 404, 503), response_model=CatalogPage)
    def browse(
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 24,
        filter: Filters = [],  # noqa: B006 - FastAPI copies defaults
        facet: Facets = [],  # noqa: B006
        facet_limit: FacetLimit = 10,
        in_stock: InStock = None,
        variants: Annotated[Literal["include", "collapse"], Query(
            description="`collapse`: one product per design (`group`); `include`: every variant.")] = "include",
        sort: SortQ = "relevance",
    ) -> Response:
        request = parse_request(BrowseRequest, {
            "page": page, "per_page": per_page, "filters": parse_filters(filter), "facets": tuple(facet),
            "facet_limit": facet_limit, "in_stock": in_stock, "variants": variants, "sort": sort,
        })
        return as_json(services.search.browse(request))

    @api.get("/api/products/{product_id:path}", tags=["products"], summary="One product",
             responses=errors(404, 503), response_model=Product)
    def product(product_id: Id) -> Response:
        return as_json(services.search.get_product(product_id))

    @api.get("/images/{product_id:path}", tags=["products"], summary="A product's image", response_model=None,
             responses=errors(404, 503))
    def image(
        product_id: Id,
        n: Annotated[int, Query(ge=0, le=MAX_IMAGES_PER_PRODUCT - 1,
                                description="Which of the product's `images` (0: the main one).")] = 0,
    ) -> FileResponse | RedirectResponse:
        product = services.search.get_product(product_id)
        images = product.images or ((product.image,) if product.image else ())
        if n >= len(images):
            raise NotFound(f"product {product_id!r} has {len(images)} image(s); n counts from 0")
        found = resolve_image(images[n] or "", services.image_root())
        if isinstance(found, LocalImage):
            return FileResponse(
                found.path,
                media_type=found.media_type,
                headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
            )
        return RedirectResponse(found.url, status_code=302)

    return api

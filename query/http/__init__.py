"""The query layer over HTTP: one ``APIRouter`` of the search, catalog, health and page routes.

Routes (OpenAPI at ``/docs``):

* ``GET  /api/products`` a page of the catalog (browsing); ``GET /api/products/{id}`` one product
* ``GET  /api/products/{id}/similar`` more like a product, with filters, facets, paging
* ``POST /api/search`` the full request of :class:`query.models.SearchRequest` as JSON
* ``POST /api/search/image`` a photo (multipart ``file``), embedded with the index's model and PCA
* ``GET  /api/products/{a}/explain/{b}`` why b looks like a: similarity, shared values, heat-maps
* ``GET  /api/health`` Solr, alias, collection, model and PCA manifest, warnings
* ``GET  /images/{id}`` a product's image; ``GET /`` the page; ``/static/*`` its files

The app itself (error handlers, middleware, the merch routes) is assembled in :mod:`app.web`.
Modules: :mod:`.errors` (the one error shape), :mod:`.middleware` (body limits, timing),
:mod:`.params` (query-string filters and options), :mod:`.services`, and one per route group.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import catalog, explain, health, pages, search
from .services import Services


def create_router(services: Services) -> APIRouter:
    """Every query route, in matching order (``.../similar`` before ``/api/products/{id}``)."""
    api = APIRouter()
    for part in (search.router(services), explain.router(services), catalog.router(services), health.router(services), pages.router()):
        api.include_router(part)
    return api

"""The web app, assembled: the query routes and the merch routes on one FastAPI app.

Errors are mapped once, here (:func:`query.http.errors.install_error_handlers`): every error
answers ``{"error": "<a sentence>", "status": <code>}``. Uploads are limited twice: by
``Content-Length`` and while the body streams (:class:`~query.http.middleware.BodyLimit`, which
also caps JSON bodies), then by bytes and pixels when decoded (:func:`indexer.images.decode_image`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from indexer.photo_vectors import PhotoEmbedder
from lookalike.settings import Settings
from merch.api import create_router as merch_router
from merch.api import merchandiser_dependency
from quality.http import create_router as shadow_router
from query.http import create_router as query_router
from query.http.errors import document_400_not_422, install_error_handlers
from query.http.middleware import BodyLimit, ResponseTime
from query.http.pages import STATIC_DIR
from query.http.search import UPLOAD_PATH, body_limits
from query.http.services import Services


def app_from_environment() -> FastAPI:
    """The app of one ``lookalike serve --workers N`` process, its settings from the environment."""
    return create_app(Settings())


def create_app(settings: Settings, *, images_root: Path | None = None) -> FastAPI:
    """The app. ``images_root`` (else ``settings.images_root``): serve product images from there
    instead of the catalog's folder."""
    services = Services(settings, PhotoEmbedder, images_root=images_root or settings.images_root)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        services.close()

    # /docs and /redoc with Swagger UI's and ReDoc's assets from the fastapi-offline package,
    # served by this app: FastAPI's own pages load them from a CDN, blank without the internet
    app = FastAPIOffline(
        title="Lookalike",
        version="0.1.0",
        description="Visual similarity search for product catalogs, on Apache Solr. "
        'Every error answers `{"error": "<what to fix>", "status": <code>}`.',
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limits=body_limits(settings), uploads=frozenset({UPLOAD_PATH}))
    app.add_middleware(ResponseTime)
    app.include_router(query_router(services))
    app.include_router(merch_router(settings, services.writer, reader=services.client))
    # shadow compare (the merchandiser page's Compare tab): merchandisers only, writes as the indexer
    app.include_router(shadow_router(settings, services.writer,
                                     signed_in=[Depends(merchandiser_dependency(settings))]))
    document_400_not_422(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app

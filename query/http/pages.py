"""The storefront page (``/``) and the site's icon; their files are served from :data:`STATIC_DIR` at ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/", include_in_schema=False)
    def storefront() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    # every page (the storefront, /navigate, /merch, /docs) gets an icon, not a 404 in the console
    @api.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    return api

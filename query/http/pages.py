"""The storefront page (``/``); its files are served from :data:`STATIC_DIR` at ``/static``."""

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

    return api

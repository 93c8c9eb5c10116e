"""``GET /api/health``: Solr, alias, collection, model and PCA manifest, warnings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from lookalike.errors import LookalikeError, NotFound, SolrRequestError

from .errors import errors
from .services import Services

HIDDEN_FACETS = ("id", "title", "image", "model", "pca_version", "group")


def facet_fields(schema: Any) -> list[str]:
    """Attributes worth a facet in the sidebar: the string and boolean ones, by user name."""
    names = []
    for name in schema.known_names():
        info = schema.resolve(name)
        if info.kind in ("string", "boolean") and name not in HIDDEN_FACETS:
            names.append(name)
    return names


def health(services: Services) -> dict[str, Any]:
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


def router(services: Services) -> APIRouter:
    api = APIRouter()

    @api.get("/api/health", tags=["health"], summary="Solr, alias, collection, model and PCA manifest",
             responses=errors(503))
    def health_route() -> dict[str, Any]:
        return health(services)

    return api

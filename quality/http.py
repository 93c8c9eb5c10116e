"""Shadow compare over HTTP, for the merchandiser page's "Compare index" tab.

==========================================  =====================================================
``GET  /api/shadow/candidates``             the live collection and the candidates built for the
                                            alias (``lookalike index --no-swap``), newest first
``GET  /api/shadow/compare?candidate=C``    :func:`quality.shadow.compare`, with each shown
                                            product's title and category
``POST /api/shadow/promote``                point the alias at the candidate (optionally only
                                            above ``min_overlap``)
``POST /api/shadow/drop``                   delete a candidate collection (never the live one)
==========================================  =====================================================

Every route needs the merchandiser credential the app hands in (``signed_in``); the writes run
with Solr's indexer role, which may move aliases and delete collections. The live alias changes
only on promote.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from indexer.aliases import promote
from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.meta import MetadataStore
from lookalike.settings import Settings
from lookalike.solr import cloud
from quality.shadow import compare

SHOW_FIELDS = "id,title,category_s"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    candidate: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")


class PromoteBody(_Body):
    min_overlap: float | None = Field(default=None, ge=0.0, le=1.0,
                                      description="Promote only when the mean overlap@10 is at least this.")
    sample: int = Field(default=100, ge=1, le=1000)


class DropBody(_Body):
    pass


def _record(r: Any) -> dict[str, Any]:
    return {"collection": r.collection, "model": r.model, "dims": r.dims, "count": r.count, "created": r.created,
            "pca_version": r.pca_version, "random_weights": r.random_weights, "recipe": r.recipe}


def candidates(settings: Settings, client: SolrClient, alias: str) -> dict[str, Any]:
    """The live collection's record and every other existing collection built for ``alias``."""
    live = cloud.alias_target(client, alias)
    existing = set(cloud.list_collections(client))
    records = [r for r in MetadataStore(client, settings).index_records(alias) if r.collection in existing]
    return {"alias": alias, "live": next((_record(r) for r in records if r.collection == live), None),
            "candidates": [_record(r) for r in records if r.collection != live]}


def _titles(client: SolrClient, collection: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    docs = cloud.real_time_get(client, collection, list(dict.fromkeys(ids)), fl=SHOW_FIELDS)
    return {i: {"title": d.get("title"), "category": d.get("category_s")} for i, d in docs.items()}


def create_router(settings: Settings, client: SolrClient, *, signed_in: list[Any]) -> APIRouter:
    router = APIRouter()
    alias = settings.alias

    @router.get("/api/shadow/candidates", tags=["shadow compare"], dependencies=signed_in,
                summary="The live collection and the candidate indexes built for the alias")
    def get_candidates() -> dict[str, Any]:
        return candidates(settings, client, alias)

    @router.get("/api/shadow/compare", tags=["shadow compare"], dependencies=signed_in,
                summary="How a candidate index would change the answers (the live alias is untouched)")
    def get_compare(candidate: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")],
                    sample: Annotated[int, Query(ge=1, le=1000)] = 100,
                    k: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
        report = compare(settings, client, alias, candidate, sample=sample, k=k).as_dict()
        shown = [i for c in report["most_changed"] for i in [c["id"], *c["live"], *c["candidate"]]]
        report["products"] = {**_titles(client, report["candidate"], shown), **_titles(client, report["live"], shown)}
        return report

    @router.post("/api/shadow/promote", tags=["shadow compare"], dependencies=signed_in,
                 summary="Point the alias at the candidate")
    def post_promote(body: PromoteBody) -> dict[str, Any]:
        if body.min_overlap is not None:
            report = compare(settings, client, alias, body.candidate, sample=body.sample)
            if report.overlap < body.min_overlap:
                raise BadRequest(f"not promoted: overlap@10 {report.overlap:.3f} is below {body.min_overlap}; "
                                 f"alias {alias} still serves {report.live}")
        previous = promote(settings, client, alias, body.candidate)
        return {"alias": alias, "live": body.candidate, "previous": previous}

    @router.post("/api/shadow/drop", tags=["shadow compare"], dependencies=signed_in,
                 summary="Delete a candidate collection (never the live one)")
    def post_drop(body: DropBody) -> dict[str, Any]:
        info = candidates(settings, client, alias)
        if info["live"] and info["live"]["collection"] == body.candidate:
            raise BadRequest(f"{body.candidate} is what alias {alias} serves: it cannot be dropped")
        if body.candidate not in {c["collection"] for c in info["candidates"]}:
            raise NotFound(f"{body.candidate} is not a candidate index of alias {alias}")
        cloud.delete_collection(client, body.candidate)
        return {"alias": alias, "dropped": body.candidate}

    return router

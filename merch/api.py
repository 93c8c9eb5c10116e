"""Merchandising over HTTP: an ``APIRouter`` the storefront app includes, and the merchandiser page.

The app mounts it where it is assembled (:func:`app.web.create_app`)::

    from merch.api import create_router
    app.include_router(create_router(settings, client))

Routes (all under ``/api/merch``, on the alias ``settings.alias``; errors in the app's one shape):

=========================================  ======  ============================================
route                                      who     what
=========================================  ======  ============================================
``GET  /navigate/start``                   anyone  diverse starting images (cluster medoids)
``GET  /navigate/{id}``                    anyone  MMR neighbours of a chosen image
``POST /preference``                       anyone  re-rank / filter by liked and disliked
``GET  /clusters``                         anyone  clusters, medoids, sizes, over-represented
``GET  /proposals``, ``/proposals/{id}``   anyone  proposals and their candidates (read)
``GET  /batches``, ``GET /gaps/{attr}``    anyone  batches; the attribute-gap report
``POST /clusters/build``                   token   cluster the catalog
``POST /clusters/{c}/tag``                 token   tag a cluster (one undoable batch)
``POST /proposals``                        token   propose from examples
``POST /proposals/{id}/decisions``         token   accept / reject candidates, move threshold
``POST /proposals/{id}/apply``             token   write the accepted ones as a batch
``POST /proposals/{id}/close``             token   close a proposal
``POST /batches/{id}/undo``                token   restore a batch's products exactly
``GET  /merch``                            anyone  the merchandiser page (its writes need the token)
``GET  /navigate``                         anyone  the shoppers' page: browse by look, like / dislike
=========================================  ======  ============================================

**The credential.** Write routes need the header ``X-Merchandiser-Token`` equal to
``Settings.merchandiser_token`` (compared in constant time): missing or wrong answers 401.
While no token is configured every write answers 403, so an unconfigured server is read-only.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from lookalike.connection import SolrClient
from lookalike.settings import Settings
from merch import batches, gaps, propagation
from merch.propagation import DEFAULT_CENTER_BY, DEFAULT_THRESHOLD, describe
from merch.store import MerchStore
from query.filters import parse_filters
from query.models import Filter

# merch.clusters and merch.navigation are imported in their routes: they load scikit-learn
# (about two seconds), which the storefront app should not pay for at start-up.

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_HEADER = "X-Merchandiser-Token"

Ids = list[Annotated[str, Field(min_length=1, max_length=512)]]
FilterQ = Annotated[list[str], Query(description="Repeatable `field:value`, `field:a|b`, `price:10..50`.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuildBody(_Body):
    k: int | None = Field(default=None, ge=1, le=500, description="Clusters; default: the documented rule.")
    filters: list[Filter] = Field(default_factory=list, max_length=30)


class TagBody(_Body):
    attribute: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, max_length=200)
    user: str = Field(default="merchandiser", min_length=1, max_length=100)
    overwrite_human: bool = False


class ProposeBody(_Body):
    attribute: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, max_length=200)
    positives: Ids = Field(min_length=1, max_length=20)
    negatives: Ids = Field(default_factory=list, max_length=20)
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=-1.0, le=1.0)
    combine: Literal["max", "mean"] = "mean"
    center_by: str | None = Field(
        default=DEFAULT_CENTER_BY, max_length=100,
        description="Compare products after removing the average look of their value of this attribute "
                    "(default category: the print counts, not the shape); null or 'none': raw vectors.")
    unlike_weight: float = Field(default=1.0, ge=0.0, le=10.0)
    filters: list[Filter] = Field(default_factory=list, max_length=30)
    user: str = Field(default="merchandiser", min_length=1, max_length=100)
    limit: int = Field(default=100, ge=1, le=1000)


class DecideBody(_Body):
    accept: Ids = Field(default_factory=list, max_length=5000)
    reject: Ids = Field(default_factory=list, max_length=5000)
    clear: Ids = Field(default_factory=list, max_length=5000)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)


class ApplyBody(_Body):
    user: str = Field(default="merchandiser", min_length=1, max_length=100)
    overwrite_human: bool = False


class UndoBody(_Body):
    user: str = Field(default="merchandiser", min_length=1, max_length=100)
    force: bool = False


class PreferenceBody(_Body):
    liked: Ids = Field(min_length=1, max_length=20)
    disliked: Ids = Field(default_factory=list, max_length=20)
    filters: list[Filter] = Field(default_factory=list, max_length=30)
    mode: Literal["rerank", "filter"] = "rerank"
    min_similarity: float | None = Field(default=None, ge=-1.0, le=1.0)
    unlike_weight: float = Field(default=0.5, ge=0.0, le=10.0)
    k: int = Field(default=24, ge=1, le=200)
    within: Ids | None = Field(default=None, max_length=1000)


def _query_filters(raw: list[str]) -> list[Filter]:
    return list(parse_filters(raw))


def create_router(settings: Settings, client: SolrClient | None = None) -> APIRouter:
    client = client or SolrClient(settings, role="indexer")
    coll = settings.alias
    router = APIRouter()
    state = {"meta_ready": False}

    def merchandiser(x_merchandiser_token: Annotated[str | None, Header()] = None) -> None:
        expected = settings.merchandiser_token
        if not expected:
            raise HTTPException(403, "merchandising writes are disabled: set LOOKALIKE_MERCHANDISER_TOKEN on the server")
        if not x_merchandiser_token or not hmac.compare_digest(x_merchandiser_token.encode(), expected.encode()):
            raise HTTPException(401, f"this needs the merchandiser credential in the {TOKEN_HEADER} header")

    def meta() -> None:
        if not state["meta_ready"]:
            MerchStore(client, settings).ensure()
            state["meta_ready"] = True

    write = [Depends(merchandiser)]

    # -- shoppers -----------------------------------------------------------------------------
    @router.get("/api/merch/navigate/start", tags=["navigation"], summary="Diverse starting images")
    def nav_start(k: Annotated[int, Query(ge=1, le=60)] = 12, filter: FilterQ = []) -> dict[str, Any]:  # noqa: B006
        from merch import navigation

        return navigation.start(settings, client, coll, k=k, filters=_query_filters(filter))

    @router.get("/api/merch/navigate/{product_id}", tags=["navigation"], summary="Diverse neighbours of a chosen image")
    def nav_step(product_id: str, k: Annotated[int, Query(ge=1, le=60)] = 12,
                 pool: Annotated[int, Query(ge=1, le=500)] = 60,
                 diversity: Annotated[float, Query(ge=0.0, le=1.0, description="1 - MMR lambda")] = 0.4,
                 filter: FilterQ = [], exclude: Annotated[list[str], Query()] = [],  # noqa: B006
                 variants: Annotated[Literal["collapse", "include"], Query(
                     description="collapse: one product per design, none of the chosen one's")] = "collapse",
                 ) -> dict[str, Any]:
        from merch import navigation

        return navigation.step(settings, client, coll, product_id, k=k, pool=max(pool, k), lambda_=1.0 - diversity,
                               filters=_query_filters(filter), exclude=exclude,
                               collapse_groups=variants == "collapse")

    @router.post("/api/merch/preference", tags=["navigation"], summary="Re-rank or filter by liked / disliked products")
    def preference(body: PreferenceBody) -> dict[str, Any]:
        from merch import navigation

        return navigation.prefer(settings, client, coll, liked=body.liked, disliked=body.disliked,
                                 filters=body.filters, mode=body.mode, min_similarity=body.min_similarity,
                                 unlike_weight=body.unlike_weight, k=body.k, within=body.within)

    # -- merchandisers: reads -----------------------------------------------------------------
    @router.get("/api/merch/clusters", tags=["merchandising"], summary="Clusters with medoids, sizes, over-represented values")
    def get_clusters() -> dict[str, Any]:
        from merch import clusters

        return clusters.load(settings, client, coll).as_dict(centroids=False)

    @router.get("/api/merch/proposals", tags=["merchandising"], summary="Open proposals")
    def get_proposals(attribute: str | None = None, state_: Annotated[str, Query(alias="state")] = "open") -> list[dict[str, Any]]:
        return [asdict(p) for p in propagation.list_proposals(settings, client, collection=coll, attribute=attribute,
                                                               state=state_ if state_ != "all" else None)]

    @router.get("/api/merch/proposals/{proposal_id}", tags=["merchandising"], summary="A proposal and its candidates")
    def get_proposal(proposal_id: str, threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        p = propagation.load_proposal(settings, client, proposal_id)
        return _proposal_view(p, *propagation.candidates(settings, client, p, threshold=threshold, limit=limit), threshold)

    @router.get("/api/merch/batches", tags=["merchandising"], summary="Batches, newest first")
    def get_batches(attribute: str | None = None) -> list[dict[str, Any]]:
        return [asdict(b) for b in batches.list_batches(settings, client, collection=coll, attribute=attribute)]

    @router.get("/api/merch/gaps/{attribute}", tags=["merchandising"], summary="Attribute-gap report")
    def get_gaps(attribute: str, by: str = "category",
                 threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None) -> dict[str, Any]:
        return gaps.gap_report(settings, client, coll, attribute, by=by, threshold=threshold)

    # -- merchandisers: writes ----------------------------------------------------------------
    @router.post("/api/merch/clusters/build", tags=["merchandising"], dependencies=write, summary="Cluster the catalog")
    def build_clusters(body: BuildBody) -> dict[str, Any]:
        from merch import clusters

        meta()
        return clusters.build(settings, client, coll, k=body.k, filters=body.filters).as_dict(centroids=False)

    @router.post("/api/merch/clusters/{cluster_id}/tag", tags=["merchandising"], dependencies=write,
                 summary="Write attribute=value to every product of a cluster")
    def tag(cluster_id: int, body: TagBody) -> dict[str, Any]:
        meta()
        return asdict(batches.tag_cluster(settings, client, coll, cluster_id, attribute=body.attribute,
                                              value=body.value, user=body.user, overwrite_human=body.overwrite_human))

    @router.post("/api/merch/proposals", tags=["merchandising"], dependencies=write, summary="Propose from examples")
    def propose(body: ProposeBody) -> dict[str, Any]:
        meta()
        p = propagation.propose(settings, client, coll, attribute=body.attribute, value=body.value,
                                positives=body.positives, negatives=body.negatives, threshold=body.threshold,
                                combine=body.combine, unlike_weight=body.unlike_weight, filters=body.filters,
                                center_by=body.center_by,
                                user=body.user)
        return _proposal_view(p, *propagation.candidates(settings, client, p, limit=body.limit), None)

    @router.post("/api/merch/proposals/{proposal_id}/decisions", tags=["merchandising"], dependencies=write,
                 summary="Accept or reject candidates; move the threshold")
    def decide(proposal_id: str, body: DecideBody) -> dict[str, Any]:
        return asdict(propagation.decide(settings, client, proposal_id, accept=body.accept, reject=body.reject,
                                         clear=body.clear, threshold=body.threshold))

    @router.post("/api/merch/proposals/{proposal_id}/apply", tags=["merchandising"], dependencies=write,
                 summary="Write the accepted candidates as one batch")
    def apply(proposal_id: str, body: ApplyBody) -> dict[str, Any]:
        return asdict(propagation.apply(settings, client, proposal_id, user=body.user,
                                        overwrite_human=body.overwrite_human))

    @router.post("/api/merch/proposals/{proposal_id}/close", tags=["merchandising"], dependencies=write,
                 summary="Close a proposal")
    def close(proposal_id: str) -> dict[str, Any]:
        return asdict(propagation.close_proposal(settings, client, proposal_id))

    @router.post("/api/merch/batches/{batch_id}/undo", tags=["merchandising"], dependencies=write,
                 summary="Restore every product of a batch exactly")
    def undo(batch_id: str, body: UndoBody) -> dict[str, Any]:
        return asdict(batches.undo(settings, client, batch_id, user=body.user, force=body.force))

    @router.get("/merch", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "merch.html", media_type="text/html")

    @router.get("/navigate", include_in_schema=False)
    def navigate_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "navigate.html", media_type="text/html")

    return router


def _proposal_view(p: Any, cands: list[Any], total: int, threshold: float | None) -> dict[str, Any]:
    return {"proposal": asdict(p), "scoring": describe(p),
            "threshold": p.threshold if threshold is None else threshold, "total": total,
            "candidates": [c.as_dict() for c in cands]}

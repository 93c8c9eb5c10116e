"""Merchandising over HTTP: an ``APIRouter`` the storefront app includes, and the merchandiser page.

The app mounts it where it is assembled (:func:`app.web.create_app`)::

    from merch.api import create_router
    app.include_router(create_router(settings, client))

Routes (under ``/api/merch``, on the alias ``settings.alias``; errors in the app's one shape;
"merch" = a merchandiser's token, see below):

=========================================  ======  ============================================
route                                      who     what
=========================================  ======  ============================================
``GET  /navigate/start``                   anyone  diverse starting images (cluster medoids)
``GET  /navigate/{id}``                    anyone  MMR neighbours of a chosen image
``POST /preference``                       anyone  re-rank / filter by liked and disliked
``GET  /clusters``                         merch   clusters, medoids, sizes, over-represented
``GET  /clusters/{c}/members``             merch   a page of a cluster's products
``GET  /map``                              merch   the catalog map (t-SNE, cached per index version)
``GET  /proposals``, ``/proposals/{id}``   merch   proposals and their candidates (read)
``GET  /batches``, ``GET /gaps/{attr}``    merch   batches; the attribute-gap report
``POST /clusters/build``                   merch   cluster the catalog
``POST /clusters/{c}/tag``                 merch   tag a cluster (one undoable batch)
``POST /proposals``                        merch   propose from examples
``POST /proposals/{id}/decisions``         merch   accept / reject candidates (or all above the
                                                   threshold), move the threshold
``POST /proposals/{id}/apply``             merch   write the accepted ones as a batch
``POST /proposals/{id}/close``             merch   close a proposal
``POST /batches/{id}/undo``                merch   restore a batch's products exactly
``GET  /api/merch/me``                     merch   who the token belongs to
``GET  /merch``                            anyone  the merchandiser page (its API calls need the token)
``GET  /navigate``                         anyone  the shoppers' page: browse by look, like / dislike
=========================================  ======  ============================================

**The credential.** Merchandising reads and writes need ``Authorization: Bearer <token>`` with
the token of a named merchandiser (:mod:`merch.identities`; ``lookalike merchandiser add NAME``
prints one): missing or unknown answers 401, and a server without any merchandiser answers 403.
The scheme is declared in OpenAPI (``/docs`` has an Authorize button). The ``user`` recorded on
a proposal, tag, batch or undo is the token's merchandiser, never something the body says.
The shoppers' routes (navigation, preference) read with Solr's search role and need nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest
from lookalike.settings import Settings
from merch import batches, gaps, identities, propagation
from merch.propagation import DEFAULT_CENTER_BY, DEFAULT_THRESHOLD, resolve_threshold, review
from merch.records import MAX_MIN_CONFIDENCE
from merch.store import MerchStore
from query.filters import parse_filters
from query.models import Filter, Id

# merch.clusters and merch.navigation are imported in their routes: they load scikit-learn
# (about two seconds), which the storefront app should not pay for at start-up.

STATIC_DIR = Path(__file__).resolve().parent / "static"
BEARER = HTTPBearer(
    auto_error=False, scheme_name="merchandiser",
    description="A merchandiser's token: `lookalike merchandiser add NAME` prints one.",
)

Ids = list[Id]
FilterQ = Annotated[list[str], Query(description="Repeatable `field:value`, `field:a|b`, `price:10..50`.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuildBody(_Body):
    k: int | None = Field(default=None, ge=1, le=500, description="Clusters; default: the documented rule.")
    filters: list[Filter] = Field(default_factory=list, max_length=30)


class TagBody(_Body):
    attribute: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, max_length=200)
    overwrite_human: bool = False


class ProposeBody(_Body):
    attribute: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, max_length=200)
    positives: Ids = Field(min_length=1, max_length=20)
    negatives: Ids = Field(default_factory=list, max_length=20)
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=-1.0, le=1.0,
                             description="Minimum similarity (what Solr ranks by); prefer min_confidence.")
    min_confidence: float | None = Field(default=None, ge=0.0, le=MAX_MIN_CONFIDENCE,
                                         description="Minimum confidence 0-1 (0.5 is the default threshold); "
                                                     "when given it sets the threshold.")
    combine: Literal["max", "mean"] = "mean"
    center_by: str | None = Field(
        default=DEFAULT_CENTER_BY, max_length=100,
        description="Compare products after removing the average look of their value of this attribute "
                    "(default category: the print counts, not the shape); null or 'none': raw vectors.")
    unlike_weight: float = Field(default=1.0, ge=0.0, le=10.0)
    filters: list[Filter] = Field(default_factory=list, max_length=30)
    limit: int = Field(default=100, ge=1, le=1000)


class DecideBody(_Body):
    accept: Ids = Field(default_factory=list, max_length=5000)
    reject: Ids = Field(default_factory=list, max_length=5000)
    clear: Ids = Field(default_factory=list, max_length=5000)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    min_confidence: float | None = Field(default=None, ge=0.0, le=MAX_MIN_CONFIDENCE,
                                         description="Minimum confidence 0-1 (0.5 is the default threshold); "
                                                     "when given it sets the threshold.")
    accept_all: bool = Field(default=False, description="Accept every candidate above the threshold that is "
                                                        "not rejected or blocked (the view's `acceptable`).")
    expect: int | None = Field(default=None, ge=0, description="With accept_all: the count confirmed; a different "
                                                               "count now is refused.")


class ApplyBody(_Body):
    overwrite_human: bool = False


class UndoBody(_Body):
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


def merchandiser_dependency(settings: Settings) -> Callable[..., str]:
    """The dependency that resolves a request's bearer token to its merchandiser (401 / 403 otherwise);
    the app hands it to other routers that merchandisers use (shadow compare)."""
    def merchandiser(cred: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> str:
        return identities.who(settings, cred.credentials if cred else None)

    return merchandiser


def create_router(settings: Settings, client: SolrClient | None = None, *,
                  reader: SolrClient | None = None) -> APIRouter:
    """``client`` writes (Solr's indexer role); ``reader`` serves the shoppers' routes (search role)."""
    client = client or SolrClient(settings, role="indexer")
    shopper = reader or client
    coll = settings.alias
    router = APIRouter()
    state = {"meta_ready": False}

    merchandiser = merchandiser_dependency(settings)
    who = Depends(merchandiser)  # as a parameter's default: the name it resolves to is the recorded user

    def meta() -> None:
        if not state["meta_ready"]:
            MerchStore(client, settings).ensure()
            state["meta_ready"] = True

    signed_in = [Depends(merchandiser)]

    # -- shoppers -----------------------------------------------------------------------------
    @router.get("/api/merch/navigate/start", tags=["navigation"], summary="Diverse starting images")
    def nav_start(k: Annotated[int, Query(ge=1, le=60)] = 12, filter: FilterQ = []) -> dict[str, Any]:  # noqa: B006
        from merch import navigation

        return navigation.start(settings, shopper, coll, k=k, filters=_query_filters(filter))

    @router.get("/api/merch/navigate/{product_id}", tags=["navigation"], summary="Diverse neighbours of a chosen image")
    def nav_step(product_id: Id, k: Annotated[int, Query(ge=1, le=60)] = 12,
                 pool: Annotated[int, Query(ge=1, le=500)] = 60,
                 diversity: Annotated[float, Query(ge=0.0, le=1.0, description="1 - MMR lambda")] = 0.4,
                 filter: FilterQ = [], exclude: Annotated[list[str], Query()] = [],  # noqa: B006
                 variants: Annotated[Literal["collapse", "include"], Query(
                     description="collapse: one product per design, none of the chosen one's")] = "collapse",
                 ) -> dict[str, Any]:
        from merch import navigation

        return navigation.step(settings, shopper, coll, product_id, k=k, pool=max(pool, k), lambda_=1.0 - diversity,
                               filters=_query_filters(filter), exclude=exclude,
                               collapse_groups=variants == "collapse")

    @router.post("/api/merch/preference", tags=["navigation"], summary="Re-rank or filter by liked / disliked products")
    def preference(body: PreferenceBody) -> dict[str, Any]:
        from merch import navigation

        return navigation.prefer(settings, shopper, coll, liked=body.liked, disliked=body.disliked,
                                 filters=body.filters, mode=body.mode, min_similarity=body.min_similarity,
                                 unlike_weight=body.unlike_weight, k=body.k, within=body.within)

    # -- merchandisers: reads -----------------------------------------------------------------
    @router.get("/api/merch/me", tags=["merchandising"], dependencies=signed_in, summary="Who this token belongs to")
    def me(user: str = who) -> dict[str, str]:
        return {"user": user}

    @router.get("/api/merch/clusters", tags=["merchandising"], dependencies=signed_in,
                summary="Clusters with medoids, sizes, over-represented values")
    def get_clusters() -> dict[str, Any]:
        from merch import clusters

        return clusters.load(settings, client, coll).as_dict(centroids=False)

    @router.get("/api/merch/clusters/{cluster_id}/members", tags=["merchandising"], dependencies=signed_in,
                summary="A page of a cluster's products")
    def get_members(cluster_id: int, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                    rows: Annotated[int, Query(ge=1, le=200)] = 48) -> dict[str, Any]:
        from merch import clusters

        return clusters.members(settings, client, coll, cluster_id, page=page, rows=rows)

    @router.get("/api/merch/map", tags=["merchandising"], dependencies=signed_in,
                summary="The catalog map: every product in 2-D by visual similarity")
    def get_map(attribute: Annotated[str | None, Query(max_length=100, description=(
            "Also say, per product, whether it has a value of this attribute."))] = None) -> dict[str, Any]:
        from merch import catalog_map

        return catalog_map.catalog_map(settings, client, coll, attribute=attribute or None)

    @router.get("/api/merch/proposals", tags=["merchandising"], dependencies=signed_in, summary="Open proposals")
    def get_proposals(attribute: str | None = None, state_: Annotated[str, Query(alias="state")] = "open") -> list[dict[str, Any]]:
        return [asdict(p) for p in propagation.list_proposals(settings, client, collection=coll, attribute=attribute,
                                                               state=state_ if state_ != "all" else None)]

    @router.get("/api/merch/proposals/{proposal_id}", tags=["merchandising"], dependencies=signed_in,
                summary="A proposal and its candidates")
    def get_proposal(proposal_id: Id, threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
                     min_confidence: Annotated[float | None, Query(ge=0.0, le=MAX_MIN_CONFIDENCE)] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        p = propagation.load_proposal(settings, client, proposal_id)
        return review(settings, client, p, threshold=resolve_threshold(threshold, min_confidence), limit=limit)

    @router.get("/api/merch/batches", tags=["merchandising"], dependencies=signed_in, summary="Batches, newest first")
    def get_batches(attribute: str | None = None) -> list[dict[str, Any]]:
        return [asdict(b) for b in batches.list_batches(settings, client, collection=coll, attribute=attribute)]

    @router.get("/api/merch/gaps/{attribute}", tags=["merchandising"], dependencies=signed_in,
                summary="Attribute-gap report")
    def get_gaps(attribute: str, by: str = "category",
                 threshold: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None) -> dict[str, Any]:
        return gaps.gap_report(settings, client, coll, attribute, by=by, threshold=threshold)

    # -- merchandisers: writes ----------------------------------------------------------------
    @router.post("/api/merch/clusters/build", tags=["merchandising"], dependencies=signed_in, summary="Cluster the catalog")
    def build_clusters(body: BuildBody) -> dict[str, Any]:
        from merch import clusters

        meta()
        return clusters.build(settings, client, coll, k=body.k, filters=body.filters).as_dict(centroids=False)

    @router.post("/api/merch/clusters/{cluster_id}/tag", tags=["merchandising"], dependencies=signed_in,
                 summary="Write attribute=value to every product of a cluster")
    def tag(cluster_id: int, body: TagBody, user: str = who) -> dict[str, Any]:
        meta()
        return asdict(batches.tag_cluster(settings, client, coll, cluster_id, attribute=body.attribute,
                                              value=body.value, user=user, overwrite_human=body.overwrite_human))

    @router.post("/api/merch/proposals", tags=["merchandising"], dependencies=signed_in, summary="Propose from examples")
    def propose(body: ProposeBody, user: str = who) -> dict[str, Any]:
        meta()
        p = propagation.propose(settings, client, coll, attribute=body.attribute, value=body.value,
                                positives=body.positives, negatives=body.negatives,
                                threshold=resolve_threshold(body.threshold, body.min_confidence),
                                combine=body.combine, unlike_weight=body.unlike_weight, filters=body.filters,
                                center_by=body.center_by,
                                user=user)
        return review(settings, client, p, limit=body.limit)

    @router.post("/api/merch/proposals/{proposal_id}/decisions", tags=["merchandising"], dependencies=signed_in,
                 summary="Accept or reject candidates; move the threshold")
    def decide(proposal_id: Id, body: DecideBody) -> dict[str, Any]:
        threshold = resolve_threshold(body.threshold, body.min_confidence)
        if body.accept_all:
            if body.accept or body.reject or body.clear:
                raise BadRequest("accept_all accepts every candidate above the threshold: send no ids with it")
            return asdict(propagation.accept_all(settings, client, proposal_id, threshold=threshold,
                                                 expect=body.expect))
        return asdict(propagation.decide(settings, client, proposal_id, accept=body.accept, reject=body.reject,
                                         clear=body.clear, threshold=threshold))

    @router.post("/api/merch/proposals/{proposal_id}/apply", tags=["merchandising"], dependencies=signed_in,
                 summary="Write the accepted candidates as one batch")
    def apply(proposal_id: Id, body: ApplyBody, user: str = who) -> dict[str, Any]:
        return asdict(propagation.apply(settings, client, proposal_id, user=user,
                                        overwrite_human=body.overwrite_human))

    @router.post("/api/merch/proposals/{proposal_id}/close", tags=["merchandising"], dependencies=signed_in,
                 summary="Close a proposal")
    def close(proposal_id: Id) -> dict[str, Any]:
        return asdict(propagation.close_proposal(settings, client, proposal_id))

    @router.post("/api/merch/batches/{batch_id}/undo", tags=["merchandising"], dependencies=signed_in,
                 summary="Restore every product of a batch exactly")
    def undo(batch_id: Id, body: UndoBody, user: str = who) -> dict[str, Any]:
        return asdict(batches.undo(settings, client, batch_id, user=user, force=body.force))

    @router.get("/merch", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "merch.html", media_type="text/html")

    @router.get("/merch/{asset}", include_in_schema=False)
    def page_asset(asset: Literal["merch.js", "merch.css", "map.js", "compare.js"]) -> FileResponse:
        kind = "text/css" if asset.endswith(".css") else "text/javascript"
        return FileResponse(STATIC_DIR / asset, media_type=kind)

    @router.get("/navigate", include_in_schema=False)
    def navigate_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "navigate.html", media_type="text/html")

    return router


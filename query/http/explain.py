"""Explaining a match: ``GET /api/products/{a}/explain/{b}`` (query/explain.py says what is in it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from query.explain import Explanation
from query.explain_service import MAX_EXAMPLES
from query.models import Id

from .errors import as_json, errors
from .services import Services


def router(services: Services) -> APIRouter:
    api = APIRouter()

    @api.get("/api/products/{a:path}/explain/{b:path}", tags=["search"], summary="Why b looks like a",
             responses=errors(400, 404, 503), response_model=Explanation)
    async def explain(
        a: Id,
        b: Id,
        example: Annotated[list[Id], Query(max_length=MAX_EXAMPLES, description=(
            "A propagation's example products (repeat the parameter): the answer says which one a resembles most."
        ))] = [],  # noqa: B006
    ) -> Response:
        return as_json(await run_in_threadpool(services.explainer.explain, a, b, tuple(example)))

    return api

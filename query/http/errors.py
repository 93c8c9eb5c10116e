"""The HTTP API's one error shape, and the map from errors to it (installed once, on the app).

A :class:`LookalikeError` answers its ``http_status``, request validation answers 400, and
anything else is logged and answers 500 with a generic sentence. Every error body is
``{"error": "<a sentence>", "status": <code>}``; no stack trace leaves the process.
"""

from __future__ import annotations

import json

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lookalike.errors import LookalikeError
from query.models import describe_errors

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The one error shape."""

    error: str = Field(description="What went wrong, as a sentence that says what to fix.")
    status: int = Field(description="The HTTP status, repeated.")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: these statuses answer :class:`ErrorBody`."""
    return {status: {"model": ErrorBody} for status in statuses}


def as_json(model: BaseModel) -> Response:
    """A response model as JSON, serialised once by pydantic.

    The model was validated when it was built; returning it to FastAPI would validate it again
    and encode it twice (about a millisecond per page of products). ``response_model`` on the
    route still documents it in OpenAPI.
    """
    return Response(model.model_dump_json(), media_type="application/json")


class _AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: an error may quote the caller's text, and
    text with a lone surrogate cannot be encoded as UTF-8 (it would turn a 400 into a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return _AsciiJSON({"error": message, "status": status}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LookalikeError)
    async def _lookalike(request: Request, err: LookalikeError) -> JSONResponse:
        if err.http_status >= 500 or err.public_message != err.message:
            log.warning("%s %s: %s", request.method, request.url.path, err)
        return error_response(err.http_status, err.public_message, err.headers() or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_errors(err.errors(), http=True))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = {404: f"there is no {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
        return error_response(err.status_code, message.get(err.status_code, str(err.detail)))

    @app.exception_handler(UnicodeError)
    async def _unicode(request: Request, err: UnicodeError) -> JSONResponse:
        return error_response(400, "the request holds text that is not valid Unicode (a lone UTF-16 surrogate "
                                   "such as \\ud800): send UTF-8 text")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        return error_response(500, "something went wrong on our side; the error is in the server log")


def document_400_not_422(app: FastAPI) -> None:
    """Validation errors answer 400 here (see the handlers), so OpenAPI must not promise 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for path in spec.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {"description": "Bad request",
                                                     "content": {"application/json": {"schema": {
                                                         "$ref": "#/components/schemas/ErrorBody"}}}})
            spec.get("components", {}).get("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""ASGI middleware of the app: body limits before parsing, and the response-time header."""

from __future__ import annotations

import time
from typing import Any

from lookalike.errors import PayloadTooLarge

from .errors import error_response

TIMING_HEADER = "X-Response-Time-Ms"


class BodyLimit:
    """Refuses a POST body over its path's limit (``limits``: path -> bytes) with 413 before the
    app parses it.

    ``Content-Length`` is checked first; a body without one (chunked) is counted as it
    streams and buffered (at most the limit), then handed to the app unchanged. ``uploads``
    names the paths whose body is a file (the sentence says "upload" there).
    """

    def __init__(self, app: Any, *, limits: dict[str, int], uploads: frozenset[str] = frozenset()):
        self.app = app
        self.limits = dict(limits)
        self.uploads = uploads

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        what = "upload" if scope["path"] in self.uploads else "request body"
        too_large = PayloadTooLarge(f"the {what} is larger than {limit:,} bytes; send a smaller one")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await error_response(400, "the Content-Length header is not a number")(scope, receive, send)
                    return
                if declared > limit:
                    await error_response(413, too_large.message)(scope, receive, send)
                    return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > limit:
                await error_response(413, too_large.message)(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ResponseTime:
    """Adds ``X-Response-Time-Ms``: the time from request to the first byte of the answer."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(TIMING_HEADER.lower().encode(), f"{ms:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed_send)

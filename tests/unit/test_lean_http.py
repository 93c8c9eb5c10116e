"""The lean HTTP path's pure parts: the Solr client's query strings and uvicorn's options."""

from __future__ import annotations

import importlib.util
import inspect

import pytest
from requests.models import RequestEncodingMixin

from app.serve_cli import server_options
from lookalike.connection import encode_params

PARAMS = [
    {"q": "*:*", "rows": 10, "fq": ["color_s:red", "in_stock:true"], "fl": None},
    [("fq", "a b"), ("fq", "c&d=e"), ("q", "{!lookalike f=vector like=$like}"), ("like", "été")],
    {"wt": "json", "facet": True, "x": 1.5, "empty": ""},
    {"ids": ("a", "b", None)},
]


@pytest.mark.parametrize("params", PARAMS)
def test_query_strings_are_the_ones_requests_built(params):
    assert encode_params(params) == RequestEncodingMixin._encode_params(params)


def test_no_params_is_an_empty_query_string():
    assert encode_params(None) == "" and encode_params({}) == ""


def test_a_lone_surrogate_cannot_become_a_query_string():
    with pytest.raises(UnicodeEncodeError):
        encode_params({"q": "\ud800"})


def test_uvicorn_takes_the_options_and_runs_the_fast_loop_and_parser_when_installed():
    import uvicorn

    options = server_options()
    config = uvicorn.Config(lambda scope, receive, send: None, **options)
    config.load()
    fast_http = importlib.util.find_spec("httptools") is not None
    assert config.http_protocol_class.__name__ == ("HttpToolsProtocol" if fast_http else "H11Protocol")
    assert options["loop"] == ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    assert config.proxy_headers is False and config.server_header is False


def _sync_dependencies(dependant) -> list[str]:
    """Names of the plain-``def`` dependencies under ``dependant`` (FastAPI runs each in its thread pool)."""
    out = []
    for dep in dependant.dependencies:
        if dep.call is not None and not inspect.iscoroutinefunction(dep.call):
            out.append(getattr(dep.call, "__name__", repr(dep.call)))
        out += _sync_dependencies(dep)
    return out


def test_the_search_routes_hop_to_a_thread_once_at_most():
    """A ``def`` dependency is a second hop to the thread pool and back before the route's own
    (about 0.2-0.4 ms of every similar-by-id on a 2-core machine); the options are parsed on the loop."""
    from fastapi.routing import APIRoute

    from lookalike.settings import Settings
    from query.http import search
    from query.http.services import Services

    services = Services.__new__(Services)  # the routes only keep it; nothing here talks to Solr
    services.settings = Settings()
    routes = [r for r in search.router(services).routes if isinstance(r, APIRoute)]
    assert {r.path for r in routes} >= {"/api/products/{product_id:path}/similar", "/api/search", "/api/search/image"}
    for route in routes:
        assert _sync_dependencies(route.dependant) == [], route.path

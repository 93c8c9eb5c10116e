"""The lean HTTP path's pure parts: the Solr client's query strings and uvicorn's options."""

from __future__ import annotations

import importlib.util

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

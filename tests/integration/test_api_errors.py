"""One error shape, `{"error": "...", "status": N}`, for 400, 404, 405, 413 and 503; never a stack trace."""

from __future__ import annotations

import io
import socket

import pytest
from PIL import Image

import api_catalog
from lookalike.settings import Settings

pytestmark = pytest.mark.integration

MAX_BYTES = 4_000
MAX_PIXELS = 64 * 64


@pytest.fixture(scope="module")
def cat(solr, tmp_path_factory):
    with api_catalog.indexed(
        solr, tmp_path_factory.mktemp("api-errors"), "errors", max_image_bytes=MAX_BYTES, max_image_pixels=MAX_PIXELS
    ) as catalog:
        yield catalog


@pytest.fixture(scope="module")
def api(cat):
    with api_catalog.http(cat.settings) as client:
        yield client


def assert_error(r, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "status"} and body["status"] == status
    message = body["error"]
    assert isinstance(message, str) and message
    assert "Traceback" not in message and 'File "' not in message
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"
    return message


def png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 30, 60)).save(buf, format="PNG")
    return buf.getvalue()


# -- 400: what to fix ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, words",
    [
        ({"k": 0}, ("k", "greater than or equal to 1")),
        ({"k": "ten"}, ("k", "integer")),
        ({"k": 101}, ("k", "less than or equal to 100")),
        ({"min_similarity": 2}, ("min_similarity",)),
        ({"mode": "fast"}, ("mode",)),
        ({"variants": "some"}, ("variants",)),
        ({"filter": "color"}, ("field:value",)),
        ({"filter": "price:abc..5"}, ("numbers",)),
        ({"filter": "no_such_field:1"}, ("no_such_field", "known")),
        ({"facet": "no_such_field"}, ("no_such_field", "known")),
        ({"facet": "vector"}, ("vector",)),
    ],
)
def test_bad_similar_parameters_are_400_with_what_to_fix(api, params, words):
    assert_error(api.get("/api/products/a1/similar", params={"mode": "approx", **params}), 400, *words)


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, ("say what to search for",)),
        ({"like": ["a1"], "k": "x"}, ("k",)),
        ({"like": ["a1"], "colour": "red"}, ("colour", "not a known option")),
        ({"like": ["a1"], "unlike": ["a1"]}, ("both",)),
        ({"text": "hat", "min_similarity": 0.5}, ("min_similarity",)),
        ({"vector": [0, 0, 0, 0]}, ("zeros",)),
        ({"vector": [1, 0, 0]}, ("dimensions",)),
    ],
)
def test_bad_search_bodies_are_400_with_what_to_fix(api, body, words):
    assert_error(api.post("/api/search", json=body), 400, *words)


def test_an_oversized_json_body_is_413(api):
    r = api.post("/api/search", content=b'{"text": "' + b"a" * 1_100_000 + b'"}',
                 headers={"Content-Type": "application/json"})
    assert_error(r, 413, "request body", "bytes")


def test_malformed_json_is_400(api):
    r = api.post("/api/search", content=b'{"like": ["a1"', headers={"Content-Type": "application/json"})
    assert_error(r, 400, "JSON")


def test_upload_that_is_not_an_image_is_400(api):
    r = api.post("/api/search/image", files={"file": ("x.jpg", b"<html>not an image</html>", "image/jpeg")})
    assert_error(r, 400, "not an image")


def test_upload_without_a_file_is_400(api):
    assert_error(api.post("/api/search/image", data={"k": "3"}), 400, "file", "required")


# -- 404 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/products/nope", "/api/products/nope/similar", "/images/nope", "/api/nothing"])
def test_unknown_ids_and_routes_are_404(api, path):
    assert_error(api.get(path), 404)


def test_unknown_like_id_in_search_is_404(api):
    assert_error(api.post("/api/search", json={"like": ["a1", "ghost"]}), 404, "ghost")


def test_wrong_method_is_405(api):
    assert_error(api.delete("/api/products/a1"), 405)


# -- 413: byte and pixel limits -------------------------------------------------------------------


def test_upload_over_the_content_length_limit_is_413_before_reading(api):
    data = b"\xff" * (MAX_BYTES + 70_000)
    assert_error(api.post("/api/search/image", files={"file": ("big.jpg", data, "image/jpeg")}), 413, "bytes")


def test_chunked_upload_over_the_limit_is_413_while_streaming(api):
    blob = png((8, 8))
    boundary = "lookalikeboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()

    def body():  # no Content-Length: httpx sends it chunked
        yield head + blob
        for _ in range(40):
            yield b"\0" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    r = api.post("/api/search/image", content=body(),
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413, "bytes")


def test_file_over_the_byte_limit_inside_the_envelope_is_413(api):
    # small enough for the envelope allowance, larger than the image limit itself
    assert_error(api.post("/api/search/image", files={"file": ("a.png", b"\x89PNG" + b"\0" * MAX_BYTES, "image/png")}),
                 413)


def test_image_over_the_pixel_limit_is_413(api):
    data = png((200, 200))  # 40,000 pixels > 4,096, and a few hundred bytes
    assert len(data) < MAX_BYTES
    assert_error(api.post("/api/search/image", files={"file": ("wide.png", data, "image/png")}), 413, "pixels")


# -- 503: Solr down -------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture(scope="module")
def api_without_solr(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("nosolr"),
                        solr_url=f"http://127.0.0.1:{closed_port()}/solr", solr_timeout_s=2)
    with api_catalog.http(settings) as client:
        yield client


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("GET", "/api/health", {}),
        ("GET", "/api/products", {}),
        ("GET", "/api/products/a1", {}),
        ("GET", "/api/products/a1/similar", {}),
        ("POST", "/api/search", {"json": {"like": ["a1"]}}),
        ("GET", "/images/a1", {}),
    ],
)
def test_solr_down_is_503(api_without_solr, method, path, kwargs):
    message = assert_error(api_without_solr.request(method, path, **kwargs), 503, "Solr is not reachable")
    assert "ConnectionError" in message or "ConnectTimeout" in message


def test_the_page_itself_still_loads_when_solr_is_down(api_without_solr):
    assert api_without_solr.get("/").status_code == 200

"""Image loading against real files made here, and a real HTTP server on 127.0.0.1."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from indexer import images
from indexer.cache import image_key
from indexer.images import ImageLoadError, decode_image, fetch_bytes, load_image
from lookalike.errors import ImageError
from lookalike.settings import Settings

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", http_timeout_s=2.0, http_retries=2)


def jpeg_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def noisy(size=(64, 48)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def close_to(pixel, colour, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel, colour))


def reason_of(fn, *args) -> str:
    with pytest.raises(ImageLoadError) as info:
        fn(*args)
    assert isinstance(info.value, ImageError)
    assert info.value.reason in images.REASONS
    assert str(info.value)
    return info.value.reason


# -- decoding ----------------------------------------------------------------------------


def test_plain_jpeg_decodes_to_rgb(settings):
    im = decode_image(jpeg_bytes(Image.new("RGB", (30, 20), RED)), settings)
    assert im.mode == "RGB" and im.size == (30, 20)
    assert close_to(im.getpixel((15, 10)), RED)


def test_truncated_jpeg_is_an_error_not_a_partial_picture(settings):
    data = jpeg_bytes(noisy())
    assert decode_image(data, settings).size == (64, 48)
    assert reason_of(decode_image, data[: len(data) // 2], settings) == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_png_is_an_error(settings):
    data = png_bytes(noisy())
    assert reason_of(decode_image, data[: len(data) // 2], settings) in ("truncated", "corrupt")


def test_text_file_is_not_an_image(settings, tmp_path):
    (tmp_path / "fake.jpg").write_text("this is not a picture\n")
    assert reason_of(load_image, "fake.jpg", tmp_path, settings) == "not_an_image"
    assert reason_of(decode_image, b"", settings) == "not_an_image"


def test_cmyk_jpeg_becomes_rgb(settings):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # cyan 0, magenta+yellow full: red
    data = jpeg_bytes(cmyk)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    im = decode_image(data, settings)
    assert im.mode == "RGB" and close_to(im.getpixel((8, 8)), RED)


def test_palette_png_with_transparency_is_composited_on_white(settings):
    p = Image.new("P", (10, 10), 1)
    p.putpalette([0, 0, 0] + list(BLUE) + [0, 255, 0] * 254)
    for x in range(5):
        for y in range(10):
            p.putpixel((x, y), 0)  # index 0 is transparent (it is black in the palette)
    data = png_bytes(p, transparency=0)
    im = decode_image(data, settings)
    assert im.mode == "RGB"
    assert im.getpixel((1, 5)) == WHITE  # transparent black shows as white, not black
    assert im.getpixel((8, 5)) == BLUE


def test_rgba_and_la_alpha_is_composited_on_white(settings):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    im = decode_image(png_bytes(rgba), settings)
    assert im.getpixel((0, 0)) == RED
    assert im.getpixel((3, 3)) == WHITE
    assert all(120 <= c <= 135 for c in im.getpixel((1, 0)))  # half black on white: grey
    la = Image.new("LA", (4, 4), (0, 0))
    assert decode_image(png_bytes(la), settings).getpixel((2, 2)) == WHITE


def test_greyscale_and_16_bit_become_rgb(settings):
    grey = decode_image(jpeg_bytes(Image.new("L", (8, 8), 100)), settings)
    r, g, b = grey.getpixel((4, 4))
    assert grey.mode == "RGB" and r == g == b and abs(r - 100) <= 3
    deep = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    data = png_bytes(deep)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    im = decode_image(data, settings)
    assert im.mode == "RGB" and all(abs(c - 128) <= 1 for c in im.getpixel((4, 4)))
    bilevel = decode_image(png_bytes(Image.new("1", (8, 8), 1)), settings)
    assert bilevel.getpixel((0, 0)) == WHITE


def test_animated_gif_uses_the_first_frame(settings):
    frames = [Image.new("RGB", (12, 12), c) for c in (RED, BLUE, (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(buf.getvalue())).n_frames == 3
    im = decode_image(buf.getvalue(), settings)
    assert im.mode == "RGB" and close_to(im.getpixel((6, 6)), RED, tol=10)


def test_exif_orientation_is_applied(settings):
    stored = Image.new("RGB", (40, 20), RED)
    stored.paste(BLUE, (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    im = decode_image(jpeg_bytes(stored, exif=exif), settings)
    assert im.size == (20, 40)
    assert close_to(im.getpixel((10, 5)), RED)  # the stored left edge is now the top
    assert close_to(im.getpixel((10, 35)), BLUE)


def test_pixel_limit_is_checked_per_call_before_decoding(tmp_path):
    data = jpeg_bytes(Image.new("RGB", (30, 20), RED))
    strict = Settings(data_dir=tmp_path, max_image_pixels=500)
    assert reason_of(decode_image, data, strict) == "too_many_pixels"
    err = pytest.raises(ImageLoadError, decode_image, data, strict).value
    assert "30x20" in err.message and err.http_status == 413
    # the limit belongs to the call, not to Pillow's global
    assert decode_image(data, Settings(data_dir=tmp_path, max_image_pixels=600)).size == (30, 20)
    assert Image.MAX_IMAGE_PIXELS != 500


def test_pillow_decompression_bomb_error_is_mapped(tmp_path, monkeypatch):
    data = png_bytes(Image.new("RGB", (100, 100), RED))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow raises above 2x this
    lenient = Settings(data_dir=tmp_path, max_image_pixels=10**9)
    assert reason_of(decode_image, data, lenient) == "too_many_pixels"


def test_byte_limit(tmp_path):
    data = jpeg_bytes(noisy())
    (tmp_path / "a.jpg").write_bytes(data)
    small = Settings(data_dir=tmp_path, max_image_bytes=len(data) - 1)
    assert reason_of(fetch_bytes, "a.jpg", tmp_path, small) == "too_large"
    assert reason_of(decode_image, data, small) == "too_large"
    exact = Settings(data_dir=tmp_path, max_image_bytes=len(data))
    assert fetch_bytes("a.jpg", tmp_path, exact) == data


def test_garbage_after_a_valid_header_is_corrupt_or_truncated(settings):
    data = bytearray(jpeg_bytes(noisy()))
    data[400:] = bytes(len(data) - 400)  # zero the entropy-coded data
    assert reason_of(decode_image, bytes(data), settings) in ("corrupt", "truncated")


# -- local references ----------------------------------------------------------------------


def test_relative_absolute_and_file_url_references(settings, tmp_path):
    data = jpeg_bytes(Image.new("RGB", (8, 8), BLUE))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my image.jpg").write_bytes(data)
    assert fetch_bytes("sub/my image.jpg", tmp_path, settings) == data
    assert fetch_bytes(str(tmp_path / "sub" / "my image.jpg"), "/elsewhere", settings) == data
    url = (tmp_path / "sub" / "my image.jpg").as_uri()
    assert "%20" in url
    assert fetch_bytes(url, "/elsewhere", settings) == data
    assert close_to(load_image(url, "/", settings).getpixel((4, 4)), BLUE)


def test_missing_unreadable_and_unsupported_references(settings, tmp_path):
    assert reason_of(fetch_bytes, "nope.jpg", tmp_path, settings) == "missing"
    assert reason_of(fetch_bytes, (tmp_path / "nope.jpg").as_uri(), tmp_path, settings) == "missing"
    (tmp_path / "dir.jpg").mkdir()
    assert reason_of(fetch_bytes, "dir.jpg", tmp_path, settings) == "unreadable"
    assert reason_of(fetch_bytes, "ftp://host/a.jpg", tmp_path, settings) == "unsupported"
    assert reason_of(fetch_bytes, "file://otherhost/a.jpg", tmp_path, settings) == "unsupported"


def test_content_hash_is_of_the_bytes():
    assert image_key(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# -- HTTP ------------------------------------------------------------------------------------

IMAGE = jpeg_bytes(Image.new("RGB", (20, 10), RED))


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, body=b"", ctype="image/jpeg", length=True):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        n = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/img.jpg":
            self._send(200, IMAGE)
        elif self.path == "/404.jpg":
            self._send(404, b"not found", "text/plain")
        elif self.path == "/500-then-200.jpg":
            self._send(500, b"oops", "text/plain") if n == 1 else self._send(200, IMAGE)
        elif self.path == "/always-500.jpg":
            self._send(503, b"busy", "text/plain")
        elif self.path == "/slow.jpg":
            time.sleep(1.5)
            self._send(200, IMAGE)
        elif self.path == "/drip.jpg":  # each read is quick, the whole is slow
            self.send_response(200)
            self.send_header("Content-Length", str(len(IMAGE)))
            self.end_headers()
            for i in range(0, len(IMAGE), 40):
                self.wfile.write(IMAGE[i : i + 40])
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/big-declared.jpg":
            self._send(200, b"x" * 5000)
        elif self.path == "/big-undeclared.jpg":
            self._send(200, b"x" * 5000, length=False)
        elif self.path == "/page.jpg":
            self._send(200, b"<html>sorry</html>", "text/html")
        elif self.path == "/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", "/img.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(images, "BACKOFF_S", 0.01)
    Handler.hits.clear()


def test_http_image(server, settings):
    assert fetch_bytes(f"{server}/img.jpg", "/", settings) == IMAGE
    assert load_image(f"{server}/redirect.jpg", "/", settings).size == (20, 10)


def test_http_404_is_not_retried(server, settings):
    assert reason_of(fetch_bytes, f"{server}/404.jpg", "/", settings) == "http_error"
    assert Handler.hits["/404.jpg"] == 1


def test_http_500_is_retried(server, settings):
    assert fetch_bytes(f"{server}/500-then-200.jpg", "/", settings) == IMAGE
    assert Handler.hits["/500-then-200.jpg"] == 2


def test_http_5xx_gives_up_after_the_retries(server, settings):
    err = pytest.raises(ImageLoadError, fetch_bytes, f"{server}/always-500.jpg", "/", settings).value
    assert err.reason == "http_error" and "503" in err.message and "3 attempts" in err.message
    assert Handler.hits["/always-500.jpg"] == 3


def test_http_timeout(server, tmp_path):
    quick = Settings(data_dir=tmp_path, http_timeout_s=0.3, http_retries=1)
    assert reason_of(fetch_bytes, f"{server}/slow.jpg", "/", quick) == "timeout"
    assert Handler.hits["/slow.jpg"] == 2
    no_retry = Settings(data_dir=tmp_path, http_timeout_s=0.25, http_retries=0)
    assert reason_of(fetch_bytes, f"{server}/drip.jpg", "/", no_retry) == "timeout"


def test_http_size_cap(server, tmp_path):
    small = Settings(data_dir=tmp_path, max_image_bytes=1000)
    assert reason_of(fetch_bytes, f"{server}/big-declared.jpg", "/", small) == "too_large"
    assert reason_of(fetch_bytes, f"{server}/big-undeclared.jpg", "/", small) == "too_large"
    assert Handler.hits["/big-declared.jpg"] == 1


def test_http_page_that_is_not_an_image(server, settings):
    assert reason_of(load_image, f"{server}/page.jpg", "/", settings) == "not_an_image"


def test_connection_refused_is_retried_then_reported(settings):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = pytest.raises(ImageLoadError, fetch_bytes, f"http://127.0.0.1:{port}/a.jpg", "/", settings).value
    assert err.reason == "http_error" and "3 attempts" in err.message


def test_session_is_used_when_given(server, settings):
    import requests

    with requests.Session() as session:
        assert fetch_bytes(f"{server}/img.jpg", Path("/"), settings, session=session) == IMAGE


def test_image_load_error_survives_pickling():
    import pickle

    back = pickle.loads(pickle.dumps(ImageLoadError("too_large", "big")))
    assert (back.reason, back.message, back.http_status) == ("too_large", "big", 413)


def test_a_fifo_is_refused_instead_of_blocking(settings, tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.jpg")
    assert reason_of(fetch_bytes, "pipe.jpg", tmp_path, settings) == "unreadable"


_PEAK_RSS_SCRIPT = r"""
import io, sys
from PIL import Image
from lookalike.settings import Settings
from indexer.images import decode_image
buf = io.BytesIO()
Image.new("RGB", (6300, 6300), (200, 30, 30)).save(buf, sys.argv[1])
data = buf.getvalue()
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark
before = peak_mb()
im = decode_image(data, Settings())
print(peak_mb() - before, im.size[0], im.size[1])
"""


@pytest.mark.parametrize("fmt,limit_mb", [("PNG", 200), ("JPEG", 60)])
def test_a_40_mpx_picture_decodes_in_bounded_memory(fmt, limit_mb):
    """6300x6300 (under the 40 Mpx limit): the full decode and its copies cost 454 MB before;
    now a PNG costs its one decoded buffer (~156 MB) and a JPEG is decoded at 1/4 scale (~19 MB)."""
    import subprocess
    import sys
    from pathlib import Path

    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to read the peak RSS")
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS_SCRIPT, fmt], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1000:]
    added_mb, width, height = map(int, out.stdout.split())
    assert added_mb <= limit_mb, f"decoding a 6300x6300 {fmt} added {added_mb} MB of peak RSS"
    assert 1024 <= max(width, height) < 2048 and width == height


def test_a_large_jpeg_keeps_its_exif_orientation_when_decoded_reduced(tmp_path):
    from indexer.images import DECODE_MAX_SIDE

    im = Image.new("RGB", (3000, 1500), RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    out = decode_image(buf.getvalue(), Settings(data_dir=tmp_path))
    assert out.mode == "RGB" and out.height > out.width  # portrait once turned
    assert DECODE_MAX_SIDE <= out.height < 2 * DECODE_MAX_SIDE


def test_a_socket_and_a_folder_are_refused_with_their_sentences(settings, tmp_path):
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sock.jpg"))
        err = pytest.raises(ImageLoadError, fetch_bytes, "sock.jpg", tmp_path, settings).value
        assert (err.reason, err.message) == ("unreadable", f"{tmp_path / 'sock.jpg'} is not a regular file")
    (tmp_path / "dir.jpg").mkdir()
    err = pytest.raises(ImageLoadError, fetch_bytes, "./dir.jpg", tmp_path, settings).value
    assert err.message == f"{tmp_path / 'dir.jpg'} is a folder, not an image file"


def test_a_file_longer_than_its_fstat_size_is_read_to_the_end_and_still_capped(tmp_path, monkeypatch):
    """The read is sized by fstat; a file that grew since (or says size 0, as /proc does) is read
    on to its end, and refused once over the limit."""
    import os
    import stat as stat_module

    data = bytes(range(256)) * 4
    (tmp_path / "a.jpg").write_bytes(data)
    real_fstat = os.fstat

    def small_fstat(fd):
        st = real_fstat(fd)
        return os.stat_result((stat_module.S_IFREG | 0o644, *tuple(st)[1:6], 10, *tuple(st)[7:10]))

    monkeypatch.setattr(images.os, "fstat", small_fstat)
    assert fetch_bytes("a.jpg", tmp_path, Settings(data_dir=tmp_path, max_image_bytes=len(data))) == data
    assert reason_of(fetch_bytes, "a.jpg", tmp_path, Settings(data_dir=tmp_path, max_image_bytes=len(data) - 1)) == "too_large"


def test_is_download():
    assert images.is_download("http://h/a.jpg") and images.is_download("HTTPS://h/a.jpg")
    assert not images.is_download("file:///a.jpg") and not images.is_download("a.jpg")
    assert not images.is_download("/abs/a.jpg") and not images.is_download("ftp://h/a.jpg")

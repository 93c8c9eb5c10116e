"""Loading product images: fetch the bytes, then decode them into an RGB picture.

The two steps are separate because the embedding cache keys by the hash of the image's bytes:
a cached image is fetched but never decoded.

* :func:`fetch_bytes` reads a reference from the catalog: a path relative to ``base_dir``, an
  absolute path, a ``file://`` URL or an ``http(s)://`` URL. Files over
  ``settings.max_image_bytes`` are refused before they are read; downloads are capped while
  streaming, time out after ``settings.http_timeout_s`` (per read and in total), and are
  retried ``settings.http_retries`` times with backoff after a 5xx, a timeout or a refused or
  broken connection, by urllib3's :class:`~urllib3.util.Retry` (:func:`retry_policy`). A 4xx
  is never retried.
* :func:`decode_image` checks the pixel count against ``settings.max_image_pixels`` from the
  header, before any pixel is decoded; decodes a picture larger than :data:`DECODE_MAX_SIDE`
  reduced (a JPEG in the DCT domain with Pillow's ``draft``, so its full size is never in
  memory; other formats by an integer box ``reduce`` right after decoding, before any copy or
  conversion: a 6300x6300 PNG costs its one decoded buffer, not four); applies the EXIF
  orientation; keeps the first frame of an animation; converts CMYK, palette, greyscale and
  16-bit images to RGB and composites any transparency on white. A truncated file is an error: Pillow's ``LOAD_TRUNCATED_IMAGES`` is
  left False, so a partial picture is never embedded.

Every failure raises :class:`ImageLoadError` (an :class:`~lookalike.errors.ImageError`) with a
short ``reason`` from :data:`REASONS` and a message for a person.
"""

from __future__ import annotations

import io
import os
import re
import stat
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import numpy as np
import requests
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util import Retry

from lookalike.errors import ImageError
from lookalike.settings import Settings

from indexer.catalog import is_url

REASONS = (
    "missing",  # no such file
    "unreadable",  # the file exists but cannot be read (permissions, a folder)
    "unsupported",  # a URL scheme or image mode we cannot handle
    "too_large",  # more bytes than max_image_bytes
    "too_many_pixels",  # more pixels than max_image_pixels (decompression bombs)
    "not_an_image",  # bytes Pillow does not recognise (a text file named .jpg, an HTML page)
    "truncated",  # the file ends before the image does
    "corrupt",  # recognised, but the decoder failed
    "http_error",  # an HTTP status other than 200, or a failed connection
    "timeout",  # the download took longer than http_timeout_s
)

CHUNK_BYTES = 64 * 1024
# Larger pictures are decoded reduced to at least this many pixels on their long side: the
# models look at 224-299 px, so nothing they see is lost.
DECODE_MAX_SIDE = 1024
_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
BACKOFF_S = 0.25
BACKOFF_MAX_S = 4.0


class ImageLoadError(ImageError):
    """An image could not be fetched or decoded; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str):
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason = reason
        if reason in ("too_large", "too_many_pixels"):
            self.http_status = 413

    def __reduce__(self):
        return (ImageLoadError, (self.reason, self.message))


def load_image(ref: str, base_dir: Path | str, settings: Settings) -> Image.Image:
    """Fetch and decode one image reference into an RGB picture."""
    return decode_image(fetch_bytes(ref, base_dir, settings), settings)


# -- fetching ----------------------------------------------------------------------------


def fetch_bytes(
    ref: str,
    base_dir: Path | str,
    settings: Settings,
    *,
    session: requests.Session | None = None,
) -> bytes:
    """The raw bytes of an image reference (see the module docstring for what a reference is)."""
    if is_download(ref):
        return _download(ref, settings, session)
    return _read_file(local_path(ref, base_dir), settings)


def local_path(ref: str, base_dir: Path | str) -> str | Path:
    """The file a local reference (a path, absolute or relative to ``base_dir``, or a ``file:`` URL)
    names; :class:`ImageLoadError` for a URL of another scheme or a file URL on another host."""
    if is_url(ref):
        scheme = ref.split(":", 1)[0].lower()
        if scheme != "file":
            raise ImageLoadError("unsupported", f"unsupported URL scheme {scheme!r} in {ref}")
        return _file_url_path(ref)
    # os.path, not pathlib: the same path, joined for every image in a fraction of the time
    return ref if os.path.isabs(ref) else os.path.join(base_dir, ref)


def is_local(ref: str) -> bool:
    """True for a path or a ``file:`` URL: a reference :func:`local_path` names a file for."""
    return not is_url(ref) or ref.split(":", 1)[0].lower() == "file"


def is_download(ref: str) -> bool:
    """True for an ``http(s)://`` reference, which :func:`fetch_bytes` downloads."""
    return is_url(ref) and ref.split(":", 1)[0].lower() in ("http", "https")


def _file_url_path(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ImageLoadError("unsupported", f"file URL on another host ({parsed.netloc}): {url}")
    return Path(url2pathname(unquote(parsed.path)))


def _open_nonblocking(path, flags: int) -> int:
    """``open``'s opener: O_NONBLOCK, so that opening a FIFO returns at once instead of waiting
    for a writer (it is then refused by its type); reading a regular file is not affected."""
    return os.open(path, flags | os.O_NONBLOCK)


def _read_file(path: Path | str, settings: Settings) -> bytes:
    return read_local(path, settings)[0]


def read_local(path: Path | str, settings: Settings) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file of at most ``max_image_bytes``, and the ``fstat`` of the file
    they were read from (its identity, for :mod:`indexer.content_keys`): one ``open``, one ``fstat``
    of the opened file (its type and size, so there is no window between a check and the open),
    and a read sized by that ``fstat``, not by the limit (a read of ``limit + 1`` bytes allocates
    that much for every file, 20 MB per 8x8 PNG). A file that grew since goes on being read up
    to the limit and is refused over it."""
    limit = settings.max_image_bytes

    def shown() -> Path:  # as messages name it; only an error pays for the Path (13 us a file)
        return Path(path)

    try:
        with open(path, "rb", opener=_open_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ImageLoadError("unreadable", f"{shown()} is not a regular file")  # a FIFO would block
            size = st.st_size
            if size > limit:
                raise ImageLoadError("too_large", f"{shown()} is {size:,} bytes; the limit is {limit:,}")
            data = f.read(size + 1)
            if len(data) > size:  # it grew since the fstat (or reports no size, as /proc does)
                data += f.read(limit + 1 - len(data))
    except FileNotFoundError:
        raise ImageLoadError("missing", f"no such file: {shown()}") from None
    except IsADirectoryError:
        raise ImageLoadError("unreadable", f"{shown()} is a folder, not an image file") from None
    except OSError as err:
        if _is_special(path):  # a socket cannot be opened at all (ENXIO): the same refusal as a FIFO
            raise ImageLoadError("unreadable", f"{shown()} is not a regular file") from None
        raise ImageLoadError("unreadable", f"cannot read {shown()}: {err.strerror or err}") from err
    except ValueError as err:  # a NUL byte in the path
        raise ImageLoadError("unreadable", f"cannot read {shown()!r}: {err}") from err
    if len(data) > limit:  # the file grew while we read it
        raise ImageLoadError("too_large", f"{shown()} is over the limit of {limit:,} bytes")
    return data, st


def _is_special(path: Path | str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def retry_policy(settings: Settings) -> Retry:
    """urllib3's retries for image downloads: ``settings.http_retries`` more tries after a
    connection error, a timeout before the answer or a 5xx, with exponential backoff (a 4xx is
    final). A download that breaks off in the middle of the body is not retried."""
    return Retry(
        total=settings.http_retries, redirect=False, allowed_methods=frozenset({"GET"}),
        status_forcelist=tuple(range(500, 600)), raise_on_status=False,
        backoff_factor=BACKOFF_S, backoff_max=BACKOFF_MAX_S,
    )


def _download(url: str, settings: Settings, session: requests.Session | None) -> bytes:
    """Download ``url``; a given ``session`` gets the retry policy mounted for http(s)."""
    adapter = HTTPAdapter(max_retries=retry_policy(settings))
    with (requests.Session() if session is None else nullcontext(session)) as http:
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        return _download_with(http, url, settings)


def _download_with(http: requests.Session, url: str, settings: Settings) -> bytes:
    timeout = settings.http_timeout_s
    limit = settings.max_image_bytes
    tries = f" (after {settings.http_retries + 1} attempts)" if settings.http_retries else ""
    started = time.monotonic()
    try:
        with http.get(url, stream=True, timeout=(timeout, timeout), allow_redirects=True) as response:
            status = response.status_code
            if status != 200:
                raise ImageLoadError("http_error", f"HTTP {status} from {url}" + (tries if status >= 500 else ""))
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ImageLoadError("too_large", f"{url} is {int(declared):,} bytes; the limit is {limit:,}")
            buf = bytearray()
            for chunk in response.iter_content(CHUNK_BYTES):
                buf += chunk
                if len(buf) > limit:
                    raise ImageLoadError("too_large", f"{url} is over the limit of {limit:,} bytes")
                if time.monotonic() - started > timeout:
                    raise ImageLoadError("timeout", f"downloading {url} took over {timeout:g}s")
            return bytes(buf)
    except (requests.Timeout, TimeoutError) as err:
        raise ImageLoadError("timeout", f"no answer from {url} within {timeout:g}s{tries}") from err
    except requests.exceptions.ChunkedEncodingError as err:
        raise ImageLoadError("http_error", f"download of {url} broke off: {err}") from err
    except requests.ConnectionError as err:
        cause = err.args[0] if err.args else None
        if isinstance(getattr(cause, "reason", None), ReadTimeoutError):  # retried, and every try timed out
            raise ImageLoadError("timeout", f"no answer from {url} within {timeout:g}s{tries}") from err
        raise ImageLoadError("http_error", f"cannot connect to {url}: {_root_cause(err)}{tries}") from err
    except requests.RequestException as err:  # invalid URL and the like: retrying cannot help
        raise ImageLoadError("http_error", f"cannot download {url}: {err}") from err


def _root_cause(err: BaseException) -> str:
    """The innermost exception's text (requests wraps urllib3 wraps the socket error)."""
    for _ in range(10):
        inner = err.args[0] if err.args and isinstance(err.args[0], BaseException) else None
        inner = inner or getattr(err, "reason", None) or err.__cause__
        if not isinstance(inner, BaseException):
            break
        err = inner
    return str(err) or type(err).__name__


# -- decoding ----------------------------------------------------------------------------


def decode_image(data: bytes, settings: Settings) -> Image.Image:
    """Decode image bytes into a loaded RGB picture, or raise :class:`ImageLoadError`."""
    if len(data) > settings.max_image_bytes:
        raise ImageLoadError("too_large", f"image is {len(data):,} bytes; the limit is {settings.max_image_bytes:,}")
    if not data:
        raise ImageLoadError("not_an_image", "empty file")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError("not_an_image", f"not an image file (starts with {data[:8]!r})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bomb(err, settings) from err
    except Exception as err:  # noqa: BLE001 - untrusted bytes: any decoder failure is per item
        raise ImageLoadError("corrupt", f"cannot read image header: {err}") from err
    with im:
        _check_pixels(im.size, settings)
        try:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            orientation = _orientation(im)
            _draft(im)
            im.load()
            small = _reduce(im)
            if orientation in _TRANSPOSE:
                small = small.transpose(_TRANSPOSE[orientation])
            rgb = _to_rgb(small)
            return rgb.copy() if rgb is im else rgb  # the opened image is closed on the way out
        except ImageLoadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise _bomb(err, settings) from err
        except OSError as err:
            if "truncated" in str(err) or "broken data stream" in str(err):
                raise ImageLoadError("truncated", f"{im.format} file ends before the image does ({err})") from err
            raise ImageLoadError("corrupt", f"cannot decode {im.format} image: {err}") from err
        except MemoryError as err:
            raise ImageLoadError("too_many_pixels", "not enough memory to decode the image") from err
        except Exception as err:  # noqa: BLE001 - SyntaxError, ValueError, struct.error from plugins
            raise ImageLoadError("corrupt", f"cannot decode {im.format} image: {err}") from err


def _bomb(err: Exception, settings: Settings) -> ImageLoadError:
    """Pillow's own decompression-bomb refusal, told with the configured limit (not Pillow's)."""
    found = re.search(r"\((\d+) pixels\)", str(err))
    pixels = int(found.group(1)) if found else None
    limit = settings.max_image_pixels
    if pixels is not None and pixels > limit:
        return ImageLoadError("too_many_pixels", f"image is {pixels:,} pixels; the limit is {limit:,}")
    return ImageLoadError("too_many_pixels", "image is too large to decode" + (f" ({pixels:,} pixels)" if pixels else ""))


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _orientation(im: Image.Image) -> int | None:
    try:
        return im.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to refuse the picture
        return None


def _draft(im: Image.Image) -> None:
    """A large JPEG decodes at 1/2, 1/4 or 1/8 scale (still at least DECODE_MAX_SIDE long)."""
    if im.format == "JPEG" and max(im.size) > DECODE_MAX_SIDE:
        im.draft(None, _fit(im.size, DECODE_MAX_SIDE))


def _reduce(im: Image.Image) -> Image.Image:
    """What was decoded, reduced by an integer factor to about DECODE_MAX_SIDE (or ``im`` itself)."""
    factor = max(im.size) // DECODE_MAX_SIDE
    if factor < 2:
        return im
    try:
        return im.reduce(factor)  # box filter, no intermediate copy of the full picture
    except ValueError:  # modes reduce does not take (palette, 1-bit, 16-bit)
        return im.resize((max(1, im.width // factor), max(1, im.height // factor)), Image.Resampling.NEAREST)


def _check_pixels(size: tuple[int, int], settings: Settings) -> None:
    width, height = size
    limit = settings.max_image_pixels
    if width * height > limit:
        raise ImageLoadError(
            "too_many_pixels", f"image is {width}x{height} = {width * height:,} pixels; the limit is {limit:,}"
        )
    if width < 1 or height < 1:
        raise ImageLoadError("corrupt", f"image has no pixels ({width}x{height})")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _scale_to_l(im)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode == "RGB":
        return im
    try:
        return im.convert("RGB")
    except ValueError as err:
        raise ImageLoadError("unsupported", f"cannot convert image mode {im.mode} to RGB") from err


def _scale_to_l(im: Image.Image) -> Image.Image:
    """16-bit or float greyscale -> 8-bit by its actual range (not clipped at 255)."""
    a = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16"):
        hi = 65535.0
    else:
        hi = float(a.max()) if a.size and a.max() > 255 else 255.0
    a = np.clip(a / hi * 255.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(a)

"""Where a product's image file is on disk, without ever leaving the images root.

A product's stored ``image`` is the reference as written in the catalog: a path relative to
the catalog's folder, an absolute path, a ``file://`` URL or an ``http(s)://`` URL. The app
serves local files only from one root (the catalog folder recorded for the index, or the
configured images root), so a hostile catalog line such as ``../../etc/passwd``, an absolute
path elsewhere, or a symlink pointing out of the root gives "not found", never the file.

The check is done on the fully resolved path (``..`` collapsed, every symlink followed), and
the resolved path must lie inside the resolved root.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lookalike.errors import NotFound

IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


@dataclass(frozen=True)
class RemoteImage:
    """An ``http(s)://`` image: the browser is sent there, the app does not proxy it."""

    url: str


@dataclass(frozen=True)
class LocalImage:
    path: Path
    media_type: str


def resolve_image(reference: str, root: Path) -> LocalImage | RemoteImage:
    """The file (inside ``root``) or the remote URL a stored image reference points to.

    Raises :class:`NotFound` for anything that is missing, not a regular file, or outside
    ``root`` once resolved; the message never echoes the resolved path.
    """
    if not reference or "\x00" in reference:
        raise NotFound("this product has no image")
    scheme = urlsplit(reference).scheme.lower()
    if scheme in ("http", "https"):
        return RemoteImage(reference)
    if scheme == "file":
        candidate = Path(unquote(urlsplit(reference).path))
    elif len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise NotFound("this product's image is not a local file or a web address")
    else:
        candidate = Path(reference)
    try:
        root = root.resolve(strict=True)
        # An absolute candidate replaces root in the join; containment below still applies.
        resolved = (root / candidate).resolve(strict=True)
    except (OSError, RuntimeError) as err:  # missing, symlink loop, permission
        raise NotFound("this product's image file is missing") from err
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise NotFound("this product's image file is missing")
    media_type = IMAGE_TYPES.get(resolved.suffix.lower()) or mimetypes.guess_type(resolved.name)[0]
    if not media_type or not media_type.startswith("image/"):
        media_type = "application/octet-stream"
    return LocalImage(resolved, media_type)

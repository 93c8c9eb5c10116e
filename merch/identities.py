"""Named merchandisers and their tokens: who may read and change the merchandising data.

The file (``LOOKALIKE_MERCHANDISERS_FILE``, default ``<data dir>/merchandisers.json``, mode
0600) holds one entry per merchandiser with the SHA-256 of their token, never the token::

    {"ann": {"token_sha256": "9f2c...", "created": "2026-12-01T22:10:00+00:00"}}

Tokens are 256 random bits (``secrets.token_urlsafe(32)``), so a plain hash is enough: there is
no password to guess. ``lookalike merchandiser add NAME`` creates one and prints its token
once. A request presents it as ``Authorization: Bearer <token>``; :func:`who` answers the name
it belongs to, which is what every write records as its ``user``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from lookalike.errors import BadRequest, ConfigError, Forbidden, Unauthorized
from lookalike.private_file import write_private
from lookalike.settings import Settings

TOKEN_BYTES = 32
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")  # fullmatch: "$" would let a trailing newline in


def merchandisers_path(settings: Settings) -> Path:
    return settings.merchandisers_file or (settings.data_dir / "merchandisers.json")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load(path: Path) -> dict[str, dict[str, str]]:
    """The merchandisers in ``path`` (empty when the file does not exist)."""
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the merchandisers file {path}: {err}") from err
    if not isinstance(raw, dict) or not all(isinstance(v, dict) and "token_sha256" in v for v in raw.values()):
        raise ConfigError(f"the merchandisers file {path} should map names to {{\"token_sha256\": ...}}")
    return raw


def _save(path: Path, entries: dict[str, dict[str, str]]) -> None:
    write_private(path, json.dumps(entries, indent=2, sort_keys=True) + "\n")


def add(settings: Settings, name: str, *, replace: bool = False) -> str:
    """Create merchandiser ``name`` (or give them a new token with ``replace``); returns the token."""
    if not _NAME_RE.fullmatch(name):
        raise BadRequest(f"merchandiser name {name!r} is not allowed: 1-64 letters, digits, '.', '_', '@', '-'")
    path = merchandisers_path(settings)
    entries = load(path)
    if name in entries and not replace:
        raise BadRequest(f"merchandiser {name} exists already: use --replace to give them a new token")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    entries[name] = {"token_sha256": _digest(token), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _save(path, entries)
    return token


def remove(settings: Settings, name: str) -> None:
    path = merchandisers_path(settings)
    entries = load(path)
    if entries.pop(name, None) is None:
        raise BadRequest(f"there is no merchandiser {name}")
    _save(path, entries)


def who(settings: Settings, token: str | None) -> str:
    """The merchandiser ``token`` belongs to; :class:`Unauthorized` for none or an unknown one,
    :class:`Forbidden` when this server has no merchandiser at all (merchandising is off)."""
    entries = load(merchandisers_path(settings))
    if not entries:
        raise Forbidden(
            "merchandising is off on this server: it has no merchandiser yet; "
            "create one with `lookalike merchandiser add NAME`"
        )
    if not token:
        raise Unauthorized("merchandising needs a merchandiser's token: send it as `Authorization: Bearer <token>`")
    digest = _digest(token)
    found = None
    for name, entry in entries.items():  # every entry compared, in constant time
        if hmac.compare_digest(digest, str(entry["token_sha256"])):
            found = name
    if found is None:
        raise Unauthorized("this merchandiser token is not known (it may have been replaced)")
    return found

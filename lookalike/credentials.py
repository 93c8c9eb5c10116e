"""Who we are to Solr: one credential per role, chosen by what a client needs to do.

Solr runs locked (``lookalike/solr/security.py`` writes its ``security.json``) with three
roles:

``admin``    everything, including Solr's security API (``lookalike solr start|status``, tests);
``indexer``  updates, the Collections, Configsets and Schema APIs, aliases (``index``,
             ``upsert``, ``delete``, ``rollback``, merchandising writes);
``search``   reads only: select, real-time get, schema, luke, cluster status (the storefront).

Where a credential comes from, first match wins:

1. ``LOOKALIKE_SOLR_USER`` and ``LOOKALIKE_SOLR_PASSWORD``: one user for every role (an
   external cluster whose operator gave us a single account);
2. the credentials file: ``LOOKALIKE_SOLR_CREDENTIALS_FILE``, else ``<data dir>/solr/credentials.json``
   (written by the first ``lookalike solr start`` with random passwords, mode 0600). A role
   missing from the file is served by the next stronger role the file has (search, then
   indexer, then admin), so a file with one admin account works for everything;
3. nothing: requests go unauthenticated (a Solr without security, e.g. a throwaway container).
"""

from __future__ import annotations

import json
import logging
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lookalike.errors import ConfigError
from lookalike.private_file import write_private
from lookalike.settings import Settings

log = logging.getLogger(__name__)

Role = Literal["admin", "indexer", "search"]
ROLES: tuple[Role, ...] = ("admin", "indexer", "search")
# A role a credentials file lacks is served by the next stronger one it has.
_STRONGER: dict[Role, tuple[Role, ...]] = {
    "search": ("search", "indexer", "admin"),
    "indexer": ("indexer", "admin"),
    "admin": ("admin",),
}
USER_NAMES: dict[Role, str] = {"admin": "lookalike-admin", "indexer": "lookalike-indexer", "search": "lookalike-search"}
PASSWORD_BYTES = 24  # 192 random bits, 32 URL-safe characters


@dataclass(frozen=True)
class Credential:
    user: str
    password: str

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credential(user={self.user!r}, password=***)"

    def as_auth(self) -> tuple[str, str]:
        return (self.user, self.password)


def credentials_path(settings: Settings) -> Path:
    return settings.solr_credentials_file or (settings.solr_dir / "credentials.json")


def read_file(path: Path) -> dict[Role, Credential]:
    """The credentials in ``path`` ({role: {"user": ..., "password": ...}}); :class:`ConfigError` if unreadable."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the Solr credentials file {path}: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"the Solr credentials file {path} should hold an object of roles")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the Solr credentials file %s is readable by others (mode %o): chmod 600 it", path, mode & 0o777)
    out: dict[Role, Credential] = {}
    for role in ROLES:
        entry = raw.get(role)
        if entry is None:
            continue
        if not isinstance(entry, dict) or not entry.get("user") or not entry.get("password"):
            raise ConfigError(f"the Solr credentials file {path}: role {role!r} needs a user and a password")
        out[role] = Credential(str(entry["user"]), str(entry["password"]))
    if not out:
        raise ConfigError(f"the Solr credentials file {path} has none of the roles {', '.join(ROLES)}")
    return out


def credential(settings: Settings, role: Role) -> Credential | None:
    """The credential to use for ``role``, or None when Solr is to be spoken to anonymously."""
    if role not in _STRONGER:
        raise ValueError(f"unknown Solr role {role!r}")
    if settings.solr_user:
        if settings.solr_password is None:
            raise ConfigError("LOOKALIKE_SOLR_USER is set but LOOKALIKE_SOLR_PASSWORD is not")
        return Credential(settings.solr_user, settings.solr_password.get_secret_value())
    path = credentials_path(settings)
    if not path.is_file():
        if settings.solr_credentials_file is not None:
            raise ConfigError(f"LOOKALIKE_SOLR_CREDENTIALS_FILE points at {path}, which does not exist")
        return None
    creds = read_file(path)
    for candidate in _STRONGER[role]:
        if candidate in creds:
            return creds[candidate]
    raise ConfigError(f"the Solr credentials file {path} has no credential for the {role} role or a stronger one")


def ensure_file(settings: Settings) -> dict[Role, Credential]:
    """The credentials of the local cluster, generated (random passwords, mode 0600) if absent.

    With ``LOOKALIKE_SOLR_USER`` set, that one user holds every role and nothing is written.
    """
    if settings.solr_user:
        cred = credential(settings, "admin")
        assert cred is not None
        return {role: cred for role in ROLES}
    path = credentials_path(settings)
    if path.is_file():
        creds = read_file(path)
        missing = [r for r in ROLES if r not in creds]
        if missing:
            raise ConfigError(f"the Solr credentials file {path} lacks the role(s) {', '.join(missing)} needed to start Solr")
        return creds
    creds = {role: Credential(USER_NAMES[role], secrets.token_urlsafe(PASSWORD_BYTES)) for role in ROLES}
    body = json.dumps({r: {"user": c.user, "password": c.password} for r, c in creds.items()}, indent=2) + "\n"
    write_private(path, body)
    log.info("generated Solr credentials in %s (mode 0600)", path)
    return creds

"""Solr's ``security.json`` for our three roles: BasicAuth, rule-based authorisation, no strangers.

``blockUnknown`` makes every request without a valid user a 401 (Solr's nodes still talk to
each other: they sign their internal requests with PKI, not with these users). Permissions are
matched in order and the first that matches decides; ``all`` at the end keeps whatever no rule
names (security, core admin, metrics, ...) for the admin.

Passwords are stored the way Solr's ``Sha256AuthenticationProvider`` checks them:
``base64(sha256(sha256(salt + password))) + " " + base64(salt)``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from lookalike.credentials import Credential, Role
from lookalike.private_file import write_private

SALT_BYTES = 32
HEALTH_ENV_FILE = "solr.env"
READERS = ["admin", "indexer", "search"]
WRITERS = ["admin", "indexer"]

# (Solr's predefined permission name, the roles allowed[, the path of a custom one]), first match wins.
PERMISSIONS: list[tuple[str, list[str] | str] | tuple[str, list[str] | str, str]] = [
    ("security-edit", "admin"),
    ("security-read", "admin"),
    ("health", READERS),
    ("update", WRITERS),
    ("collection-admin-edit", WRITERS),
    ("config-edit", WRITERS),
    ("schema-edit", WRITERS),
    ("read", READERS),
    ("schema-read", READERS),
    ("collection-admin-read", READERS),
    ("config-read", READERS),
    # a core's segments and their attributes: the reindex job checks that none is left without its graph
    ("segments-read", WRITERS, "/admin/segments"),
    ("all", "admin"),
]


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Solr's stored form of ``password``: ``"<base64 hash> <base64 salt>"``."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    inner = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return f"{base64.b64encode(hashlib.sha256(inner).digest()).decode()} {base64.b64encode(salt).decode()}"


def security_json(creds: dict[Role, Credential]) -> dict[str, Any]:
    """The whole ``security.json`` for these credentials (one user may hold several roles)."""
    roles_of: dict[str, list[str]] = {}
    passwords: dict[str, str] = {}
    for role, cred in creds.items():
        roles_of.setdefault(cred.user, []).append(role)
        passwords[cred.user] = cred.password
    return {
        "authentication": {
            "class": "solr.BasicAuthPlugin",
            "blockUnknown": True,
            "forwardCredentials": False,
            "realm": "lookalike",
            "credentials": {user: hash_password(pw) for user, pw in passwords.items()},
        },
        "authorization": {
            "class": "solr.RuleBasedAuthorizationPlugin",
            "user-role": roles_of,
            "permissions": [_permission(*p) for p in PERMISSIONS],
        },
    }


def _permission(name: str, roles: list[str] | str, path: str | None = None) -> dict[str, Any]:
    """One rule: a predefined permission by name, or a custom one by path (any collection)."""
    return {"name": name, "role": roles} if path is None else {"name": name, "path": path, "collection": "*", "role": roles}


def write_security_json(creds: dict[Role, Credential], path: Path) -> Path:
    """Write ``security.json`` (password hashes only, still mode 0600) for the launcher to install."""
    return write_private(path, json.dumps(security_json(creds), indent=2) + "\n")


def write_health_env(creds: dict[Role, Credential], path: Path) -> Path:
    """``LOOKALIKE_HEALTH_AUTH=user:password`` of the search role, for docker-compose's healthcheck."""
    return write_private(path, f"LOOKALIKE_HEALTH_AUTH={creds['search'].user}:{creds['search'].password}\n")

"""security.json and the credentials file: Solr's password format, roles, file modes."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from lookalike import credentials
from lookalike.errors import ConfigError
from lookalike.settings import Settings
from lookalike.solr import security


@pytest.fixture(autouse=True)
def _own_credentials(monkeypatch):
    """The session's Solr exports its credentials file; these tests make their own."""
    for name in ("LOOKALIKE_SOLR_CREDENTIALS_FILE", "LOOKALIKE_SOLR_USER", "LOOKALIKE_SOLR_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_password_hash_is_solrs_own_format():
    """The example of Solr's reference guide: user solr, password SolrRocks."""
    salt = base64.b64decode("Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c=")
    assert security.hash_password("SolrRocks", salt) == (
        "IV0EHq1OnNrj6gvRCwvFwTrZ1+z1oBbnQdiVC3otuq0= Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c="
    )
    assert security.hash_password("SolrRocks") != security.hash_password("SolrRocks")  # a fresh salt each time


def test_first_start_generates_strong_private_credentials(tmp_path):
    settings = Settings(data_dir=tmp_path)
    creds = credentials.ensure_file(settings)
    path = credentials.credentials_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(creds) == {"admin", "indexer", "search"}
    passwords = {c.password for c in creds.values()}
    assert len(passwords) == 3 and all(len(p) >= 32 for p in passwords)
    assert credentials.ensure_file(settings) == creds  # the second start reuses them
    assert "password=***" in repr(creds["admin"]) and creds["admin"].password not in repr(creds["admin"])


def test_security_json_blocks_strangers_and_keeps_passwords_hashed(tmp_path):
    creds = credentials.ensure_file(Settings(data_dir=tmp_path))
    path = security.write_security_json(creds, tmp_path / "security.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    auth = doc["authentication"]
    assert auth["class"] == "solr.BasicAuthPlugin" and auth["blockUnknown"] is True
    text = path.read_text()
    assert not any(c.password in text for c in creds.values())
    for cred in creds.values():
        stored_hash, salt = auth["credentials"][cred.user].split(" ")
        assert security.hash_password(cred.password, base64.b64decode(salt)) == f"{stored_hash} {salt}"
    perms = {p["name"]: p["role"] for p in doc["authorization"]["permissions"]}
    assert "search" not in perms["update"] and "search" not in perms["collection-admin-edit"]
    assert "search" in perms["read"] and "indexer" in perms["update"]
    assert doc["authorization"]["permissions"][-1] == {"name": "all", "role": "admin"}


def test_a_role_missing_from_the_file_uses_a_stronger_one(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"admin": {"user": "root", "password": "pw"}}))
    path.chmod(0o600)
    settings = Settings(data_dir=tmp_path, solr_credentials_file=path)
    assert credentials.credential(settings, "search").user == "root"
    path.write_text(json.dumps({"search": {"user": "reader", "password": "pw"}}))
    with pytest.raises(ConfigError, match="no credential for the indexer role"):
        credentials.credential(settings, "indexer")


def test_one_user_for_every_role_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_SOLR_USER", "ops")
    monkeypatch.setenv("LOOKALIKE_SOLR_PASSWORD", "s3cret")
    settings = Settings(data_dir=tmp_path)
    assert credentials.credential(settings, "admin").as_auth() == ("ops", "s3cret")
    assert "s3cret" not in repr(settings)
    doc = security.security_json(credentials.ensure_file(settings))
    assert doc["authorization"]["user-role"] == {"ops": ["admin", "indexer", "search"]}


def test_a_named_file_that_is_missing_is_an_error_not_anonymous(tmp_path):
    settings = Settings(data_dir=tmp_path, solr_credentials_file=tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="does not exist"):
        credentials.credential(settings, "search")
    assert credentials.credential(Settings(data_dir=tmp_path), "search") is None  # no file at all: anonymous

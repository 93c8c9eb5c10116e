"""Named merchandisers: tokens shown once, kept hashed, each one names its merchandiser."""

from __future__ import annotations

import json
import stat

import pytest

from lookalike.cli import main
from lookalike.errors import BadRequest, Forbidden, Unauthorized
from lookalike.settings import Settings
from merch import identities


def test_tokens_are_kept_hashed_and_name_their_merchandiser(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(Forbidden, match="merchandiser add"):
        identities.who(settings, "anything")  # no merchandiser at all: merchandising is off
    ann, bob = identities.add(settings, "ann"), identities.add(settings, "bob")
    path = identities.merchandisers_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert ann not in text and bob not in text and len(ann) >= 43
    assert identities.who(settings, ann) == "ann" and identities.who(settings, bob) == "bob"
    for bad in (None, "", "x" * 43, ann[:-1]):
        with pytest.raises(Unauthorized):
            identities.who(settings, bad)
    with pytest.raises(BadRequest, match="--replace"):
        identities.add(settings, "ann")
    new = identities.add(settings, "ann", replace=True)
    with pytest.raises(Unauthorized, match="replaced"):
        identities.who(settings, ann)
    assert identities.who(settings, new) == "ann"
    identities.remove(settings, "bob")
    with pytest.raises(Unauthorized):
        identities.who(settings, bob)
    with pytest.raises(BadRequest):
        identities.add(settings, "../etc")


def test_the_cli_prints_the_token_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path))
    assert main(["merchandiser", "add", "demo"]) == 0
    out = capsys.readouterr().out
    token = out.split("token ", 1)[1].split()[0]
    assert identities.who(Settings(data_dir=tmp_path), token) == "demo"
    assert main(["merchandiser", "add", "demo", "--exist-ok"]) == 0
    again = capsys.readouterr().out
    assert token not in again and "exists already" in again
    assert main(["merchandiser", "add", "demo"]) == 2  # without --exist-ok: an error that says --replace
    assert "--replace" in capsys.readouterr().err
    assert main(["merchandiser", "list"]) == 0 and capsys.readouterr().out.startswith("demo  token made ")
    assert set(json.loads((tmp_path / "merchandisers.json").read_text())) == {"demo"}

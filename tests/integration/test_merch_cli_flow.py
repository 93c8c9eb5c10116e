"""The merchandising commands as the README shows them, end to end through ``lookalike`` against
the real Solr: clusters build (which lays out the catalog map), propose with a minimum
confidence, accept all, apply (the examples too), undo exactly, close; messages say what to do."""

from __future__ import annotations

import re

import pytest

from lookalike.cli import main
from merch_catalog import make_catalog, snapshot

pytestmark = pytest.mark.integration


def test_the_readme_merch_commands_review_and_undo_exactly(solr, collection_factory, monkeypatch, capsys, tmp_path):
    cat = make_catalog(solr, collection_factory)
    for name, value in {"LOOKALIKE_SOLR_URL": solr.url, "LOOKALIKE_ALIAS": cat.name,
                        "LOOKALIKE_META_COLLECTION": solr.settings.meta_collection,
                        "LOOKALIKE_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    assert main(["clusters", "build", "--k", "3"]) == 0
    out = capsys.readouterr().out
    before = snapshot(solr, cat.name)
    with_vector = sum(1 for d in before.values() if d.get("vector"))
    assert f"catalog map: {with_vector} products laid out" in out

    lacking = sorted(i for i in cat.ids if "pattern_s" not in before[i])[:2]
    assert main(["propagate", "propose", "--attribute", "pattern", "--value", "tropical", "--like", *lacking,
                 "--min-confidence", "0.3", "--user", "ann"]) == 0
    out = capsys.readouterr().out
    pid = re.search(r"proposal (p\S+) \(open\)", out).group(1)
    assert "at confidence >= 0.30" in out and "confidence" in out.splitlines()[2]
    assert f"lookalike propagate decide {pid} --accept-all" in out
    assert main(["gaps", "pattern"]) == 0
    assert f"proposal {pid}: pattern=tropical at confidence >= 0.30 fills" in capsys.readouterr().out
    assert main(["propagate", "decide", pid, "--accept-all"]) == 0
    accepted = int(re.search(r"(\d+) accepted", capsys.readouterr().out).group(1))
    assert accepted > 0
    assert main(["propagate", "apply", pid, "--user", "ann"]) == 0
    out = capsys.readouterr().out
    batch = re.search(r"batch (b\S+):", out).group(1)
    assert f"written to {accepted + 2} product(s)" in out and f"lookalike propagate undo {batch}" in out
    assert main(["propagate", "undo", batch]) == 0
    assert snapshot(solr, cat.name) == before
    assert main(["propagate", "close", pid]) == 0
    capsys.readouterr()
    # what to do, not Solr's internals
    assert main(["propagate", "propose", "--attribute", "pattern", "--value", "x", "--like", "nope-1"]) == 2
    err = capsys.readouterr().err
    assert "no product with id nope-1" in err and "Solr answered" not in err
    assert main(["gaps", "nosuchattr"]) == 2
    assert "Solr answered" not in capsys.readouterr().err

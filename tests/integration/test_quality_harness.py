"""The quality harness end to end on the small development set: the real reindex job, the
real model, similar-by-id and photo search through the search service, against a real Solr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import api_catalog

from lookalike.cli import main
from lookalike.errors import BadRequest
from lookalike.solr import cloud
from quality.devsets import PRESETS, SELLERS as SELLER_STYLES, generate_sellers
from quality.harness import EVAL_META, EvalOptions, evaluate

pytestmark = pytest.mark.integration

SELLERS = 4
ITEMS = PRESETS["small"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return generate_sellers(tmp_path_factory.mktemp("devset-small"), designs=ITEMS, sellers=SELLERS, seed=3)


@pytest.fixture(scope="module")
def settings(solr, tmp_path_factory):
    return solr.settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("eval-data")})


@pytest.fixture(scope="module")
def kept(solr, settings, catalog):
    """One full evaluation whose index is kept for the tests that re-read it."""
    options = EvalOptions(key="item", filter_field="source", photo_queries=12, keep_index=True,
                          index={"dims": 32, "model": "efficientnet_lite0"})
    report = evaluate(settings, solr.client, catalog, options)
    yield report
    api_catalog.drop_alias(solr.client, report.index["alias"])


def test_every_measure_is_taken_through_the_index(kept):
    r = kept
    n = ITEMS * SELLERS
    assert (r.products, r.items) == (n, ITEMS)
    assert r.similar["queries"] == n and r.similar["unanswerable"] == 0
    assert r.filtered["queries"] == n * (SELLERS - 1) and r.filtered["values"] == SELLERS
    assert r.photo["queries"] == 12
    assert sorted(r.by_value) == sorted(s.name for s in SELLER_STYLES[:SELLERS])
    assert sum(m["queries"] for m in r.by_value.values()) == n
    assert r.index["dims"] == 32 and r.index["model"] == "efficientnet_lite0" and not r.index["random_weights"]
    assert r.index["indexed"] == n and r.index["embedded"] + r.index["cache_hits"] == n
    assert r.index["size_bytes"] and r.index["size_bytes"] > n * 32 * 4
    for block in (r.similar, r.photo, r.baseline["grey"], r.baseline["rgb"]):
        for name in ("recall_at_k", "map_at_k", "rank1"):
            assert 0.0 <= block[name] <= 1.0
        assert block["map_at_k"] <= block["recall_at_k"] + 1e-9
    # the pretrained network is far above the raw-pixel floor on these renderings
    floor = max(r.baseline["grey"]["recall_at_k"], r.baseline["rgb"]["recall_at_k"])
    assert r.similar["recall_at_k"] > floor + 0.2
    assert r.photo["recall_at_k"] > floor + 0.2
    assert r.filtered["rank1"] > max(r.baseline["grey"]["filtered_rank1"], r.baseline["rgb"]["filtered_rank1"])
    text = r.to_text()
    assert "recall@10" in text and "the asked source's rendering first" in text
    assert json.loads(r.to_json())["similar"]["queries"] == n


def test_the_kept_index_evaluates_again_to_the_same_numbers(solr, settings, catalog, kept):
    alias = kept.index["alias"]
    assert cloud.alias_target(solr.client, alias) == kept.index["collection"]
    again = evaluate(settings, solr.client, catalog,
                     EvalOptions(alias=alias, meta_collection=EVAL_META, photo_queries=0, baseline=False))
    assert again.similar == kept.similar
    assert again.photo is None and again.baseline is None
    # the evaluation's index record went to its own metadata collection, not the storefront's
    with pytest.raises(Exception):
        evaluate(settings, solr.client, catalog, EvalOptions(alias=alias, photo_queries=0, baseline=False))


def test_the_cli_prints_json_and_a_built_index_is_removed(solr, settings, catalog, kept, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_SOLR_URL", settings.solr_url)
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(settings.data_dir))
    alias = kept.index["alias"]
    # the same folder, so the same alias: this run replaces the kept index, then removes it;
    # embeddings come from the cache of the first run
    code = main(["eval", str(catalog), "--key", "group", "--queries", "6", "--photo-queries", "2",
                 "--no-baseline", "--dims", "16", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["similar"]["queries"] == 6 and out["photo"]["queries"] == 2 and out["index"]["dims"] == 16
    assert out["index"]["cache_hits"] == ITEMS * SELLERS and out["index"]["kept"] is False
    assert out["index"]["alias"] == alias and cloud.alias_target(solr.client, alias) is None
    assert not [c for c in cloud.list_collections(solr.client) if c.startswith(alias + "_")]


def test_bad_keys_and_options_are_refused_before_any_work(solr, settings, catalog, capsys, monkeypatch):
    with pytest.raises(BadRequest, match="has the key 'nope'"):
        evaluate(settings, solr.client, catalog, EvalOptions(key="nope"))
    with pytest.raises(BadRequest, match="unknown index option"):
        evaluate(settings, solr.client, catalog, EvalOptions(index={"colour": 3}))
    monkeypatch.setenv("LOOKALIKE_SOLR_URL", settings.solr_url)
    assert main(["eval", str(catalog), "--alias", "x", "--dims", "8"]) == 2
    assert "--alias evaluates an index as it was built" in capsys.readouterr().err
    assert main(["eval", str(catalog), "--queries", "-1"]) == 2

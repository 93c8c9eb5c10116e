"""ReindexOptions.from_settings: what `lookalike index` and `lookalike eval` both index with."""

from pathlib import Path

import argparse

import pytest

from indexer.cli import add_recipe_arguments, recipe_from_args
from indexer.reindex import ReindexOptions
from lookalike.errors import BadRequest
from lookalike.settings import Settings


def test_settings_fill_what_is_not_given_and_none_means_not_given(tmp_path):
    s = Settings(data_dir=tmp_path, model="inception_v3", pca_whiten=True, pca_power=0.5, shards=2)
    o = ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", dims=None, power=None)
    assert (o.model, o.whiten, o.power, o.shards, o.dims) == ("inception_v3", True, 0.5, 2, None)
    o = ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", model="efficientnet_lite0", whiten=False)
    assert (o.model, o.whiten) == ("efficientnet_lite0", False)
    o = ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", trim=True, pooling="gem")
    assert (o.embedding.trim, o.embedding.pooling, o.embedding.flip) == (True, "gem", s.flip)
    with pytest.raises(BadRequest, match="unknown index option"):
        ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", colour=1)


def test_the_vector_arguments_are_read_back_only_when_given():
    p = argparse.ArgumentParser()
    add_recipe_arguments(p)
    assert recipe_from_args(p.parse_args([])) == {}
    assert recipe_from_args(p.parse_args(["--dims", "32", "--no-whiten"])) == {"dims": 32, "whiten": False}

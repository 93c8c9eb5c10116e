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


def test_quantization_comes_from_settings_or_the_flag_and_is_in_the_recipe_only_when_set(tmp_path):
    s = Settings(data_dir=tmp_path)
    plain = ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a")
    assert plain.quantization == "none" and "quantization" not in plain.recipe()  # old float records still match
    q = ReindexOptions.from_settings(s.model_copy(update={"vector_quantization": "int4"}), catalog=Path("c.jsonl"),
                                     alias="a")
    assert q.quantization == "int4" and q.recipe()["quantization"] == "int4" and q.recipe() != plain.recipe()
    assert ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", quantization="int7").quantization == "int7"
    with pytest.raises(BadRequest, match="must be one of none, int7, int4, got 'int8'"):
        ReindexOptions.from_settings(s, catalog=Path("c.jsonl"), alias="a", quantization="int8")
    p = argparse.ArgumentParser()
    add_recipe_arguments(p)
    assert recipe_from_args(p.parse_args(["--quantization", "int7"])) == {"quantization": "int7"}
    with pytest.raises(SystemExit):
        p.parse_args(["--quantization", "int8"])


def test_int4_needs_an_even_width():
    from indexer.reindex import choose_dims
    from lookalike.errors import IndexJobError

    assert choose_dims(None, 384, (24, 1280), even=True) == (22, choose_dims(None, 384, (24, 1280), even=True)[1])
    assert choose_dims(None, 384, (24, 1280))[0] == 23
    assert choose_dims(16, 384, (24, 1280), even=True) == (16, "")
    with pytest.raises(IndexJobError, match="--dims 15 is odd; int4"):
        choose_dims(15, 384, (24, 1280), even=True)

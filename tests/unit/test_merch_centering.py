"""Category-centred similarity (merch.centering): the pure parts, checked against numpy by hand."""

from __future__ import annotations

import numpy as np
import pytest

from merch import centering
from merch.centering import Centering, group_means


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture
def catalog():
    rng = np.random.default_rng(5)
    shape = {"bag": unit(rng.normal(size=8)) * 3, "hat": unit(rng.normal(size=8)) * 3}
    prints = {"floral": unit(rng.normal(size=8)), "stripes": unit(rng.normal(size=8))}
    rows, cats, pats = [], [], []
    for cat in shape:
        for pat in prints:
            for _ in range(6):
                rows.append(shape[cat] + prints[pat] + 0.1 * rng.normal(size=8))
                cats.append(cat)
                pats.append(pat)
    return np.asarray(rows, dtype=np.float32), cats, pats


def make(vectors, cats):
    return Centering(collection="c", field="category_s", products=len(cats), created="now",
                     groups=group_means(vectors, cats))


def test_group_means_are_the_means_of_unit_vectors_per_value(catalog):
    vectors, cats, _ = catalog
    groups = {g.value: g for g in group_means(vectors, cats)}
    assert set(groups) == {"bag", "hat"} and groups["bag"].count == 12
    want = unit(vectors[[c == "bag" for c in cats]]).mean(axis=0)
    assert np.allclose(groups["bag"].mean, want, atol=1e-6)
    spread = np.sqrt(np.mean(np.linalg.norm(unit(vectors[[c == "bag" for c in cats]]) - want, axis=1) ** 2))
    assert groups["bag"].spread == pytest.approx(spread, abs=1e-5)


def test_a_value_the_centring_has_not_seen_uses_the_whole_catalog(catalog):
    vectors, cats, _ = catalog
    c = make(vectors, cats)
    assert np.allclose(c.group("shoes").mean, unit(vectors).mean(axis=0), atol=1e-6)
    assert c.group(["hat", "bag"]).value == "hat"


def test_centring_ranks_the_print_across_categories_where_raw_cosine_ranks_the_shape(catalog):
    vectors, cats, pats = catalog
    c = make(vectors, cats)
    examples = [0, 1]  # two floral bags
    u = centering.centred_target(c, vectors[examples], [cats[i] for i in examples])
    sims = centering.similarity(c, u, vectors, cats)
    floral_hats = [i for i in range(len(cats)) if cats[i] == "hat" and pats[i] == "floral"]
    striped_bags = [i for i in range(len(cats)) if cats[i] == "bag" and pats[i] == "stripes"]
    assert sims[floral_hats].min() > sims[striped_bags].max()
    raw = unit(vectors) @ unit(unit(vectors[examples]).mean(axis=0))
    assert raw[floral_hats].max() < raw[striped_bags].min()  # the shape wins without centring


def test_similarity_is_the_cosine_of_centred_vectors_with_the_categorys_typical_length(catalog):
    vectors, cats, _ = catalog
    c = make(vectors, cats)
    u = centering.centred_target(c, vectors[[0, 20]], [cats[0], cats[20]])
    i = 17
    g = c.group(cats[i])
    d = unit(vectors[i]) - np.asarray(g.mean)
    want = d @ u / (np.linalg.norm(u) * g.spread)
    assert centering.similarity(c, u, vectors[[i]], [cats[i]])[0] == pytest.approx(want, abs=1e-6)
    # the reason's cosines use the exact length of each centred vector
    cos = centering.centred_cosines(c, vectors[[i]], [cats[i]], vectors[[0]], [cats[0]])[0, 0]
    e = unit(vectors[0]) - np.asarray(c.group(cats[0]).mean)
    assert cos == pytest.approx(d @ e / np.linalg.norm(d) / np.linalg.norm(e), abs=1e-5)


def test_query_has_one_clause_per_category_with_the_threshold_as_a_plugin_cosine(catalog):
    vectors, cats, _ = catalog
    c = make(vectors, cats)
    u = centering.centred_target(c, vectors[[0, 1]], [cats[0], cats[1]])
    params = centering.query_params(c, u, threshold=0.3)
    # a clause per category, and one for a category the centring has not seen (centred on the whole catalog)
    assert params["q"].count("{!boost") == 3 and params["cf0"].startswith('category_s:"bag"^=')
    assert params["cf2"].startswith('(+category_s:[* TO *] -category_s:("bag" OR "hat"))^=')
    for i, g in enumerate(c.groups):
        offset = float(np.asarray(g.mean) @ u / np.linalg.norm(u))
        want = 0.3 * g.spread + offset
        assert f"minSimilarity={want!r}" in params[f"cq{i}"]
        # a product exactly at the threshold gets Solr's score (1 + 0.3) / 2 + shift
        const = float(params[f"cf{i}"].split("^=")[1])
        assert const >= 0
        score = (1 + want) / 2 / g.spread + const
        assert centering.score_to_similarity(score, params["cshift"]) == pytest.approx(0.3, abs=1e-9)
    assert "minSimilarity" not in centering.query_params(c, u, threshold=-1.0)["cq0"]


def test_a_category_too_small_to_have_an_average_is_centred_on_the_whole_catalog(catalog):
    vectors, cats, _ = catalog
    cats = list(cats)
    cats[5] = "scarf"  # a category of one product: its own average is itself
    c = make(vectors, cats)
    assert c.group("scarf").mean == c.group("shoes").mean and c.group("scarf").count == len(cats)
    u = centering.centred_target(c, vectors[[0, 1]], [cats[0], cats[1]])
    params = centering.query_params(c, u, threshold=0.0)  # no 'too tight to centre on'
    assert any(v.startswith('category_s:"scarf"^=') for k, v in params.items() if k.startswith("cf"))
    assert np.isfinite(centering.similarity(c, u, vectors[[5]], ["scarf"])).all()


def test_negatives_that_cancel_the_positives_are_a_bad_request(catalog):
    from lookalike.errors import BadRequest

    vectors, cats, _ = catalog
    c = make(vectors, cats)
    with pytest.raises(BadRequest, match="cancel"):
        centering.centred_target(c, vectors[[0]], [cats[0]], vectors[[0]], [cats[0]])

"""Pure merchandising algorithms: example scoring, k selection and clustering, MMR."""

import numpy as np
import pytest

from lookalike.errors import BadRequest
from merch.kmeans import CatalogClusterer, choose_k, k_grid, rule_of_thumb_k
from merch.mmr import mmr_select
from merch.vectors import ExampleScorer, normalize, to_score


def blobs(centers, per, noise, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=np.float32)
    x = np.concatenate([c + noise * rng.standard_normal((per, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), per)
    return x.astype(np.float32), y


# -- scoring -------------------------------------------------------------------------------
def test_max_combine_is_best_positive_minus_weighted_best_negative():
    rng = np.random.default_rng(1)
    pos, neg, v = rng.standard_normal((2, 8)), rng.standard_normal((1, 8)), rng.standard_normal((50, 8))
    s = ExampleScorer(pos, neg, combine="max", unlike_weight=0.5)
    un = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)
    expected = (un(v) @ un(pos).T).max(1) - 0.5 * (un(v) @ un(neg).T).max(1)
    np.testing.assert_allclose(s.similarity(v), expected, atol=1e-5)
    reasons = s.explain(v[:3])
    np.testing.assert_allclose([r.positive_cosines for r in reasons], un(v[:3]) @ un(pos).T, atol=1e-5)
    assert [len(r.negative_cosines) for r in reasons] == [1, 1, 1]


def test_mean_combine_uses_the_normalised_mean_of_unit_examples():
    pos = np.array([[1, 0, 0], [0, 10, 0]], dtype=np.float32)  # lengths must not weigh
    s = ExampleScorer(pos, combine="mean")
    target = np.array([1, 1, 0]) / np.sqrt(2)
    np.testing.assert_allclose(s.similarity(np.array([[1, 1, 0], [0, 0, 1]])), [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(s.similarity(np.array([[1, 0, 0]])), [target[0]], atol=1e-6)


def test_scorer_rejects_bad_input_with_a_sentence():
    with pytest.raises(BadRequest, match="combine"):
        ExampleScorer(np.ones((1, 3)), combine="sum")
    with pytest.raises(BadRequest, match="expected vectors of 3 dimensions, got 4"):
        ExampleScorer(np.ones((1, 3))).similarity(np.ones((2, 4)))
    with pytest.raises(BadRequest, match="negative examples have 2"):
        ExampleScorer(np.ones((1, 3)), np.ones((1, 2)))


def test_normalize_keeps_zero_rows_and_score_scale():
    x = normalize(np.array([[3, 4], [0, 0]], dtype=np.float32))
    np.testing.assert_allclose(x, [[0.6, 0.8], [0, 0]])
    assert to_score(1.0) == 1.0 and to_score(-1.0) == 0.0 and to_score(0.0) == 0.5


# -- k-means ---------------------------------------------------------------------------------
def test_rule_of_thumb_and_grid_stay_in_bounds():
    assert rule_of_thumb_k(2000) == 32
    assert rule_of_thumb_k(10**7) == 100
    assert rule_of_thumb_k(1) == 1
    grid = k_grid(2000)
    assert grid[0] == 16 and grid[-1] == 64 and len(grid) <= 7 and 32 in grid and grid == sorted(set(grid))
    assert all(2 <= k <= 9 for k in k_grid(10))


def test_choose_k_finds_well_separated_groups_inside_the_band():
    centers = np.eye(16, dtype=np.float32)[:12] * 5  # 12 orthogonal directions, 25 points each
    x, _ = blobs(centers, 25, 0.3)
    k, scores = choose_k(x)  # n=300: k0=12, band 6..24
    assert k == 12, scores
    assert all(scores[k] >= s for s in scores.values())


def test_clusterer_recovers_blobs_with_medoids_and_size_order():
    centers = np.eye(8, dtype=np.float32)[:4] * 4
    x, y = blobs(centers, 30, 0.2)
    x = np.concatenate([x, x[:10] + 0.01])  # first blob is the biggest
    y = np.concatenate([y, y[:10]])
    m = CatalogClusterer(k=4).fit(x)
    assert m.k_ == 4 and m.k_rule_ == "given"
    assert list(m.sizes_) == sorted(m.sizes_, reverse=True) and m.sizes_.sum() == len(x)
    assert m.sizes_[0] == 40
    # every cluster is exactly one blob
    for c in range(4):
        assert len(set(y[m.labels_ == c])) == 1
    # the medoid is the member closest to the normalised centroid
    u = normalize(x)
    for c in range(4):
        members = np.flatnonzero(m.labels_ == c)
        assert m.labels_[m.medoids_[c]] == c
        assert m.medoids_[c] == members[np.argmax(u[members] @ m.centers_[c])]


def test_clusterer_is_deterministic_and_checks_k():
    x, _ = blobs(np.eye(6)[:3] * 3, 20, 0.5)
    a, b = CatalogClusterer().fit(x), CatalogClusterer().fit(x)
    assert np.array_equal(a.labels_, b.labels_) and a.k_rule_ == "silhouette"
    with pytest.raises(BadRequest, match="between 1 and the number of products"):
        CatalogClusterer(k=100).fit(x)


def test_minibatch_path_covers_every_vector():
    x, _ = blobs(np.eye(6)[:3] * 3, 40, 0.3)
    m = CatalogClusterer(k=3, minibatch_above=50).fit(x)
    assert m.algorithm_ == "MiniBatchKMeans" and m.sizes_.sum() == len(x) and set(m.labels_) == {0, 1, 2}


# -- MMR -------------------------------------------------------------------------------------
def test_mmr_lambda_one_is_relevance_order():
    rng = np.random.default_rng(3)
    rel = rng.random(20)
    picks = mmr_select(rel, rng.standard_normal((20, 5)), 10, lambda_=1.0)
    assert [p.index for p in picks] == list(np.argsort(-rel)[:10])


def test_mmr_skips_near_duplicates_for_a_different_direction():
    # three near copies of one direction with the highest relevance, one other direction
    v = np.array([[1, 0], [1, 0.01], [1, -0.01], [0, 1]], dtype=np.float32)
    rel = np.array([0.9, 0.89, 0.88, 0.5])
    picks = mmr_select(rel, v, 2, lambda_=0.5)
    assert [p.index for p in picks] == [0, 3]
    assert picks[0].redundancy == 0.0 and picks[1].redundancy == pytest.approx(0.0, abs=1e-6)
    assert [p.index for p in mmr_select(rel, v, 2, lambda_=1.0)] == [0, 1]


def test_mmr_score_is_the_greedy_objective_and_picks_are_distinct():
    rng = np.random.default_rng(5)
    v = rng.standard_normal((30, 6)).astype(np.float32)
    rel = rng.random(30)
    picks = mmr_select(rel, v, 12, lambda_=0.6)
    idx = [p.index for p in picks]
    assert len(set(idx)) == 12
    u = normalize(v)
    for step in range(1, 12):
        chosen = idx[:step]
        red = (u @ u[chosen].T).max(1)
        obj = 0.6 * rel - 0.4 * red
        obj[chosen] = -np.inf
        assert idx[step] == int(np.argmax(obj))
        assert picks[step].redundancy == pytest.approx(red[idx[step]], abs=1e-5)


def test_mmr_checks_lambda_and_lengths():
    with pytest.raises(BadRequest, match="lambda"):
        mmr_select(np.ones(2), np.ones((2, 2)), 1, lambda_=1.5)
    with pytest.raises(BadRequest, match="2 relevance values for 3 vectors"):
        mmr_select(np.ones(2), np.ones((3, 2)), 1)
    assert mmr_select(np.ones(2), np.ones((2, 2)), 5) and len(mmr_select(np.ones(2), np.ones((2, 2)), 5)) == 2

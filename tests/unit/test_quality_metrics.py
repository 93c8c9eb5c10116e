"""quality.metrics and quality.baseline against independent brute-force computations."""

from __future__ import annotations

import numpy as np
import pytest

from quality import baseline, metrics


def _random_case(rng: np.random.Generator):
    n = int(rng.integers(5, 40))
    ranking = [int(x) for x in rng.permutation(n)[: int(rng.integers(0, n + 1))]]
    relevant = {int(x) for x in rng.choice(n, size=int(rng.integers(1, min(n, 15) + 1)), replace=False)}
    k = int(rng.integers(1, 15))
    return ranking, relevant, k


def _brute_recall(ranking, relevant, k):
    hits = np.array([doc in relevant for doc in ranking[:k]], dtype=float)
    return hits.sum() / min(k, len(relevant))


def _brute_ap(ranking, relevant, k):
    """AP as the area under the precision/recall steps: sum of precision@i times the recall gained at i."""
    def precision(i):
        return len(set(ranking[:i]) & relevant) / i

    def recall(i):
        return len(set(ranking[:i]) & relevant) / min(k, len(relevant))

    return sum(precision(i) * (recall(i) - recall(i - 1)) for i in range(1, min(k, len(ranking)) + 1))


@pytest.mark.parametrize("seed", range(200))
def test_metrics_match_brute_force_on_random_rankings(seed: int) -> None:
    ranking, relevant, k = _random_case(np.random.default_rng(seed))
    assert metrics.recall_at_k(ranking, relevant, k) == pytest.approx(_brute_recall(ranking, relevant, k))
    assert metrics.average_precision_at_k(ranking, relevant, k) == pytest.approx(_brute_ap(ranking, relevant, k))
    assert metrics.rank1(ranking, relevant) == (len(ranking) > 0 and ranking[0] in relevant)


def test_perfect_and_empty_rankings_bound_the_scale() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        relevant = {int(x) for x in rng.choice(100, size=int(rng.integers(1, 20)), replace=False)}
        k = int(rng.integers(1, 25))
        perfect = sorted(relevant) + [x for x in range(100, 130)]
        assert metrics.recall_at_k(perfect, relevant, k) == pytest.approx(1.0)
        assert metrics.average_precision_at_k(perfect, relevant, k) == pytest.approx(1.0)
        assert metrics.recall_at_k([], relevant, k) == 0.0
        assert metrics.average_precision_at_k([], relevant, k) == 0.0


def test_summarize_is_the_mean_and_skips_unanswerable_queries() -> None:
    rng = np.random.default_rng(2)
    cases = [_random_case(rng)[:2] for _ in range(30)] + [([1, 2], set())]
    s = metrics.summarize(cases, k=10)
    answerable = cases[:-1]
    assert s.queries == 30 and s.unanswerable == 1
    assert s.recall_at_k == pytest.approx(np.mean([_brute_recall(r, t, 10) for r, t in answerable]))
    assert s.map_at_k == pytest.approx(np.mean([_brute_ap(r, t, 10) for r, t in answerable]))
    assert s.rank1 == pytest.approx(np.mean([bool(r) and r[0] in t for r, t in answerable]))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="k must be"):
        metrics.recall_at_k([1], {1}, 0)
    with pytest.raises(ValueError, match="relevant"):
        metrics.average_precision_at_k([1], set(), 10)


@pytest.mark.parametrize("seed", range(20))
def test_l2_rankings_match_a_brute_force_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d, k = int(rng.integers(3, 30)), int(rng.integers(1, 12)), int(rng.integers(1, 8))
    x = rng.normal(size=(n, d))
    queries = [int(q) for q in rng.choice(n, size=min(n, 5), replace=False)]
    allowed = rng.random(n) < 0.7
    for mask in (None, allowed):
        got = baseline.l2_rankings(x, queries, k, allowed=mask)
        for q, row in zip(queries, got):
            others = [j for j in range(n) if j != q and (mask is None or mask[j])]
            want = sorted(others, key=lambda j: (float(np.sum((x[j] - x[q]) ** 2)), j))[:k]
            assert [float(np.sum((x[j] - x[q]) ** 2)) for j in row] == pytest.approx(
                [float(np.sum((x[j] - x[q]) ** 2)) for j in want])
            assert q not in row
        assert baseline.l2_rankings(x, queries, k, allowed=mask, block=2) == got


def test_thumbnail_is_a_flat_vector_of_the_picture() -> None:
    from PIL import Image

    im = Image.new("RGB", (64, 48), (255, 0, 0))
    assert baseline.thumbnail(im, "rgb").shape == (16 * 16 * 3,)
    grey = baseline.thumbnail(im, "grey")
    assert grey.shape == (256,) and np.allclose(grey, grey[0]) and 0 < grey[0] < 1

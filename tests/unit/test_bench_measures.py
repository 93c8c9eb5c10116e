"""The benchmark suite's measures compute what they claim (no timings asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import data, metrics
from benchmarks.inmemory import ground_truth
from benchmarks.methods import NumpyExact, SklearnTree


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    docs = data.l2_normalise(rng.standard_normal((3000, 32)).astype(np.float32))
    queries = data.l2_normalise(rng.standard_normal((40, 32)).astype(np.float32))
    return docs, queries


def brute(queries, docs, k, mask=None):
    s = queries @ docs.T
    if mask is not None:
        s[:, ~mask] = -np.inf
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def test_exact_topk_matches_a_full_sort(small):
    docs, queries = small
    ids, scores = metrics.exact_topk(queries, docs, 10, block=700)  # several blocks
    assert np.array_equal(ids, brute(queries, docs, 10))
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_recall_of_exact_against_itself_is_one_and_random_ids_score_low(small):
    docs, queries = small
    truth = metrics.exact_topk(queries, docs, 10)[0]
    assert metrics.recall_at_k(truth, truth) == 1.0
    rng = np.random.default_rng(0)
    random_ids = rng.integers(0, len(docs), truth.shape)
    assert metrics.recall_at_k(random_ids, truth) < 0.05
    half = truth.copy()
    half[:, 5:] = -1
    assert metrics.recall_at_k(half, truth) == pytest.approx(0.5)


def test_recall_uses_the_valid_truth_when_a_filter_leaves_fewer_than_k(small):
    docs, queries = small
    mask = np.zeros(len(docs), bool)
    mask[[3, 30, 300]] = True
    gts = ground_truth(queries, docs, {1.0: None, 0.001: mask})
    assert np.all(gts[0.001][:, 3:] == -1)
    assert set(gts[0.001][0, :3].tolist()) == {3, 30, 300}
    assert metrics.recall_at_k(gts[0.001], gts[0.001]) == 1.0
    assert np.array_equal(gts[1.0], brute(queries, docs, 10))


def test_numpy_exact_and_a_kd_tree_agree_with_the_truth_filtered_or_not(small):
    docs, queries = small
    mask = np.arange(len(docs)) % 10 == 0
    exact = NumpyExact()
    exact.build(docs)
    assert metrics.recall_at_k(exact.search(queries, 10), brute(queries, docs, 10)) == 1.0
    filtered = exact.search(queries, 10, mask)
    assert mask[filtered].all()
    assert metrics.recall_at_k(filtered, brute(queries, docs, 10, mask)) == 1.0
    tree = SklearnTree("KDTree")
    tree.build(docs)
    assert metrics.recall_at_k(tree.search(queries, 10), brute(queries, docs, 10)) == 1.0


def test_precision_of_groups_counts_same_group_neighbours_without_the_query():
    groups = np.array([0, 0, 0, 1, 1, 2])
    neighbours = np.array([[0, 1, 2, 3], [1, 3, 4, 5]])  # row 0: the query itself first
    p = metrics.precision_of_groups(neighbours, groups, np.array([0, 1]), k=3)
    # query 0: neighbours 1, 2, 3 -> 2 of 3 same group; query 1: 3, 4, 5 -> 0 of 3
    assert p == pytest.approx(2 / 6)


def test_latency_stats_percentiles():
    s = metrics.latency_stats(np.arange(1, 101) / 1000.0)
    assert s["n"] == 100
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p99_ms"] == pytest.approx(99.01)


def test_bucket_filters_have_their_selectivity():
    rng = np.random.default_rng(1)
    buckets = rng.integers(0, data.BUCKETS, 200_000)
    for s in data.SELECTIVITIES:
        frac = np.mean(buckets < data.bucket_limit(s))
        assert frac == pytest.approx(s, rel=0.15)


def test_generated_data_is_deterministic_normalised_and_pca_overlap_is_sensible(tmp_path):
    spec = data.DataSpec(n_docs=4000, sizes=(2000, 4000), n_queries=50, chunk_docs=1000, pca_fit_docs=2000,
                         full_dims=256, widths=(128, 32), n_clusters=20, full_topk=20)
    a = data.build(spec, tmp_path / "a")
    b = data.build(spec, tmp_path / "b")
    assert np.array_equal(np.asarray(a.vectors(32)), np.asarray(b.vectors(32)))
    assert np.allclose(np.linalg.norm(np.asarray(a.vectors(128)), axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(a.queries(32), axis=1), 1.0, atol=1e-5)
    # the full-space neighbours of the 2000-doc prefix are inside the prefix
    assert a.full_neighbours(2000).max() < 2000
    # the 2000-doc prefix of the 4000-doc set is the same data a 2000-doc spec would make
    full = a.full_neighbours(4000)[:, :10]
    wide = metrics.exact_topk(a.queries(128), a.vectors(128), 10)[0]
    narrow = metrics.exact_topk(a.queries(32), a.vectors(32), 10)[0]
    o_wide, o_narrow = metrics.overlap_at_k(wide, full), metrics.overlap_at_k(narrow, full)
    assert o_wide > 0.5  # the wide PCA keeps most neighbours ...
    assert o_wide >= o_narrow  # ... and more than the narrow one
    rng = np.random.default_rng(0)
    assert metrics.overlap_at_k(rng.integers(0, 4000, full.shape), full) < 0.05


def test_default_width_rule_takes_the_smallest_width_good_on_both_data_and_names_the_shipped_one():
    from benchmarks.report import default_width_conclusion

    def real(w, o):
        return {"dims": str(w), "width": w, "overlap10_raw": o}

    def syn(w, o, size=100_000):
        return {"dims": w, "size": size, "overlap10": o}

    demo = [{"dims": "raw", "width": 1280, "overlap10_raw": 1.0}, real(128, 0.93), real(256, 0.95), real(512, 0.96)]
    # 256 is fine on the demo and at 100k but not at 500k: the rule must move to 512
    synth = [syn(128, 0.85), syn(256, 0.93), syn(256, 0.89, 500_000), syn(512, 0.95), syn(512, 0.92, 500_000)]
    text = default_width_conclusion(demo, synth, shipped=256)
    assert "(every size) is 512" in text
    assert "shipped default (256" in text and "below the rule" in text
    text = default_width_conclusion(demo, [syn(128, 0.5), syn(256, 0.5), syn(512, 0.5)])
    assert "no measured width keeps" in text


def test_the_reindex_conclusion_names_the_newest_run_and_the_fastest_of_its_size():
    from benchmarks.report.context import Ctx
    from benchmarks.report.pipeline import writes_section

    def run(what, seconds):
        return {"section": "reindex", "what": what, "catalog": "synthetic 100000", "docs": 100_000, "embedded": 0,
                "cache_hits": 100_000, "seconds": seconds, "docs_per_s": 100_000 / seconds,
                "write_docs_per_s": 5000.0, "stages": {"load": 5.0}, "model": "m", "dims": 256}

    c = Ctx({"rows": [run("a fast one", 50.0), run("the newest", 80.0)], "machine": {"cores": 2}})
    writes_section(c)
    line = next(x for x in c.concl if x.startswith("Reindex from a warm cache"))
    assert "1,250 docs/s end to end in the newest run" in line
    assert 'the fastest run of the table at this size: 2,000 docs/s, "a fast one"' in line
    c = Ctx({"rows": [run("only", 50.0)], "machine": {"cores": 2}})
    writes_section(c)
    assert "fastest run" not in next(x for x in c.concl if x.startswith("Reindex from a warm cache"))

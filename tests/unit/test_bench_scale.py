"""The scale benchmark's pure parts: selectivity tiers, recall, the stock {!knn} request, the report."""

import math

import numpy as np

from benchmarks.report.context import Ctx
from benchmarks.report.scale import scale_section
from benchmarks.scale_bench import cases, documents, knn_params, others, recall, tier_mask, tier_values


def test_tiers_are_nested_and_pass_their_share_of_uniform_buckets():
    buckets = np.arange(1000)
    for name, share in (("s100", 1.0), ("s10", 0.1), ("s1", 0.01), ("s01", 0.001)):
        mask = tier_mask(buckets, name)
        assert mask.sum() == round(1000 * share)
        assert all((name in tier_values(int(b))) == m for b, m in zip(buckets, mask))
    assert tier_values(0) == ["s100", "s10", "s1", "s01"]
    assert tier_values(9) == ["s100", "s10", "s1"]
    assert tier_values(99) == ["s100", "s10"]
    assert tier_values(100) == ["s100"]
    assert tier_mask(buckets, None) is None


def test_cases_are_unfiltered_then_one_filter_per_tier():
    assert [c[:2] for c in cases()] == [("none", None), ("sel:s100", "s100"), ("sel:s10", "s10"),
                                        ("sel:s1", "s1"), ("sel:s01", "s01")]
    assert [c[2] for c in cases()] == [1.0, 1.0, 0.1, 0.01, 0.001]


def test_documents_carry_their_tiers_group_and_vector():
    vectors = np.eye(4, dtype=np.float32)
    docs = list(documents(vectors, np.array([0, 50, 500, 5]), np.array([7, 7, 8, 8]), 1, 4))
    assert [d["id"] for d in docs] == ["1", "2", "3"]
    assert [d["sel_ss"] for d in docs] == [["s100", "s10"], ["s100"], ["s100", "s10", "s1"]]
    assert [d["group"] for d in docs] == ["d7", "d8", "d8"]
    assert docs[0]["vector"].tolist() == [0, 1, 0, 0]


def test_recall_counts_only_the_slots_a_filter_filled():
    ids = np.array([3, 1, 4, 0])
    scores = np.array([0.9, 0.8, -np.inf, -np.inf], dtype=np.float32)
    assert recall([1, 3, 9], ids, scores) == 1.0
    assert recall([1, 9], ids, scores) == 0.5
    assert recall([4, 0], ids, scores) == 0.0
    assert math.isnan(recall([1], ids, np.full(4, -np.inf)))


def test_others_leaves_out_the_query_product_and_empty_slots():
    assert others([5, 2, -1, 7], 5, k=2) == [2, 7]
    assert others(np.arange(20), 3) == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10]


def test_knn_request_passes_the_filter_as_a_quoted_fq_and_the_vector_by_reference():
    p = knn_params(np.array([0.5, -0.25], dtype=np.float32), 200, "s1")
    assert p["q"] == "{!knn f=vector topK=200 v=$vec}"
    assert p["vec"] == "[0.5,-0.25]"
    assert p["fq"] == 'sel_ss:("s1")'
    assert p["rows"] == 11
    assert "fq" not in knn_params(np.zeros(2, dtype=np.float32), 200, None)


def _row(method, filt, sel, p50, p99, rec, **kw):
    return {"section": "scale", "variant": "none", "size": 500_000, "dims": 256, "filter": filt,
            "selectivity": sel, "method": method, "queries": 100, "p50_ms": p50, "p99_ms": p99,
            "recall_at_10": rec, "min_recall_at_10": rec, **kw}


def test_report_says_where_the_aims_are_missed_and_who_is_faster():
    rows = [_row("api auto", "none", 1.0, 6.0, 20.0, 0.995, chose="approx", solr_requests=1.0, max_solr_requests=1,
                 mode_reason="filters leave 500000 products"),
            _row("numpy exact", "none", 1.0, 30.0, 40.0, 1.0),
            _row("faiss hnsw", "none", 1.0, 0.4, 1.0, 0.5),  # faster, but misses what it is asked: not a loss
            _row("api auto", "sel:s10", 0.1, 12.0, 30.0, 0.97, chose="approx", solr_requests=1.0, max_solr_requests=1),
            _row("faiss hnsw", "sel:s10", 0.1, 0.5, 1.0, 0.99),
            _row("api exact", "sel:s10", 0.1, 6.0, 9.0, 1.0, chose="exact", qtime_p50_ms=4.0),
            _row("api exact", "none", 1.0, 5.5, 9.0, 1.0, chose="exact"),  # within 1.2x of auto: noise, no line
            {"section": "scale_run", "size": 500_000, "heap": "2g", "top_k": 200, "faiss_ef": 200,
             "stages_s": {"write_s": 60.0, "total_s": 120.0}}]
    c = Ctx({"rows": rows, "machine": {}})
    md = "\n".join(scale_section(c))
    assert "500k products x 256 dims" in md and "| write | 60 |" in md
    assert any("met at 1 of 2 filters" in x for x in c.concl)
    assert len(c.loses) == 2
    assert "sel:s10 (10%): auto chose approx" in c.loses[1] and "exact answers at 6.0 ms" in c.loses[1]
    assert "sel:s10" in c.loses[0] and "p50 12.0 ms > 8" in c.loses[0] and "recall@10 0.970 < 0.99" in c.loses[0]
    assert "faiss hnsw is 24.0x faster (p50 0.50 ms, recall@10 0.990)" in c.loses[0]


def test_report_without_rows_says_why():
    c = Ctx({"rows": [{"section": "scale_error", "error": "no Solr"}], "machine": {}})
    assert "Not measured in this run: no Solr." in scale_section(c)


def test_each_size_is_its_own_block_with_its_own_rows():
    run = {"section": "scale_run", "heap": "2g", "top_k": 200, "faiss_ef": 200}
    rows = [_row("api auto", "none", 1.0, 6.0, 20.0, 0.995, chose="approx"),
            {**_row("api auto", "none", 1.0, 9.5, 30.0, 0.991, chose="approx"), "size": 1_000_000},
            {**run, "size": 500_000, "stages_s": {"write_s": 60.0, "total_s": 120.0}},
            {**run, "size": 1_000_000, "stages_s": {"write_s": 250.0, "total_s": 900.0}}]
    c = Ctx({"rows": rows, "machine": {}})
    md = "\n".join(scale_section(c))
    small, large = md.split("### 1M products")
    assert "### 500k products" in small and "| 6.0 |" in small and "| write | 60 |" in small and "9.5" not in small
    assert "| 9.5 |" in large and "| write | 250 |" in large and "| 6.0 |" not in large
    assert any(x.startswith("At 500k") for x in c.concl) and any(x.startswith("At 1M") for x in c.concl)


def test_a_scale_run_replaces_only_its_own_size_and_formats(tmp_path):
    import json

    from benchmarks.run import merge_into_existing

    path = tmp_path / "default.json"
    old = [{"section": "methods"}, {"section": "scale", "size": 500_000, "variant": "none", "p50_ms": 14.0},
           {"section": "scale", "size": 500_000, "variant": "int4", "p50_ms": 13.0},
           {"section": "scale_topk", "size": 500_000, "variant": "none", "p50_ms": 15.0},  # the new run needs none
           {"section": "scale_topk", "size": 500_000, "variant": "int4", "p50_ms": 16.0},
           {"section": "scale_run", "size": 500_000}]
    path.write_text(json.dumps({"rows": old, "section_s": {}, "machine": {}}))
    new = {"rows": [{"section": "scale", "size": 500_000, "variant": "none", "p50_ms": 9.0},
                    {"section": "scale", "size": 1_000_000, "variant": "none", "p50_ms": 11.0},
                    {"section": "scale_run", "size": 1_000_000}],
           "section_s": {"scale": 5.0}, "machine": {"date": "today"}, "load_avg_end": [1.0]}
    merged = merge_into_existing(new, ["scale"], path)
    got = {(r["section"], r.get("size"), r.get("variant")): r.get("p50_ms") for r in merged["rows"]}
    assert got == {("methods", None, None): None, ("scale", 500_000, "none"): 9.0, ("scale", 500_000, "int4"): 13.0,
                   ("scale_topk", 500_000, "int4"): 16.0, ("scale_run", 500_000, None): None, ("scale", 1_000_000, "none"): 11.0,
                   ("scale_run", 1_000_000, None): None}
    assert merged["runs"]["scale_500000"]["date"] == "today" and merged["runs"]["scale_1000000"]["date"] == "today"

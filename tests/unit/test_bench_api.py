"""The api benchmark's pure parts: the products it feeds and how a partial run merges its results."""

import json

import numpy as np

from benchmarks.api_bench import documents
from benchmarks.run import merge_into_existing


def test_documents_have_ten_colours_a_hundred_shades_and_groups_of_four():
    buckets = np.arange(1000) % 1000
    vectors = np.ones((1000, 4), dtype=np.float32)
    docs = documents(vectors, buckets, 0, 1000)
    colours = [d["color_s"] for d in docs]
    assert len(set(colours)) == 10 and colours.count("c3") == 100
    assert [d["shade_s"] for d in docs].count("s7") == 10
    assert {d["group"] for d in docs[:4]} == {"0"} and docs[4]["group"] == "1"
    assert docs[5]["id"] == "5" and docs[5]["vector"].shape == (4,)


def _res(rows, **extra):
    return {"rows": rows, "section_s": {"api": 2.0}, "machine": {"date": "today"}, "load_avg_end": [1.0], **extra}


def test_only_api_replaces_its_rows_and_keeps_the_rest(tmp_path):
    path = tmp_path / "default.json"
    old_rows = [{"section": "methods", "x": 1}, {"section": "api", "old": True}, {"section": "api_node"}]
    path.write_text(json.dumps({"rows": old_rows, "section_s": {"methods": 9.0}, "machine": {"date": "before"}}))
    new = _res([{"section": "api", "new": True}])
    merged = merge_into_existing(new, ["api"], path)
    assert merged["rows"] == [{"section": "methods", "x": 1}, {"section": "api", "new": True}]
    assert merged["machine"] == {"date": "before"}
    assert merged["section_s"] == {"methods": 9.0, "api": 2.0}
    assert merged["runs"]["api"]["date"] == "today"


def test_a_run_with_other_sections_is_written_whole(tmp_path):
    path = tmp_path / "default.json"
    path.write_text(json.dumps({"rows": [{"section": "methods"}], "section_s": {}, "machine": {}}))
    new = _res([{"section": "api"}])
    assert merge_into_existing(new, ["methods", "api"], path) is new
    assert merge_into_existing(new, ["api"], tmp_path / "missing.json") is new


def test_a_failing_section_becomes_its_error_row_and_is_still_timed():
    from benchmarks.run import section

    res = {"rows": [], "section_s": {}}
    with section(res, "scale"):
        res["rows"].append({"section": "scale", "ok": True})
    with section(res, "cloud"):
        raise RuntimeError("no ZooKeeper")
    assert res["rows"] == [{"section": "scale", "ok": True}, {"section": "cloud_error", "error": "no ZooKeeper"}]
    assert set(res["section_s"]) == {"scale", "cloud"} and all(v >= 0 for v in res["section_s"].values())

"""The quality benchmark's pure parts: its rows resolve to recipes, its section renders them."""

import json
from pathlib import Path

from benchmarks.quality_bench import ROWS
from benchmarks.report.quality import quality_section as section
from benchmarks.run import merge_into_existing
from indexer.reindex import ReindexOptions
from lookalike.settings import Settings


def test_every_row_is_a_valid_set_of_index_options(tmp_path):
    settings = Settings(data_dir=tmp_path)
    recipes = [ReindexOptions.from_settings(settings, catalog=Path("c"), alias="a", **o).recipe() for _, o in ROWS]
    assert recipes[0]["model"] == "efficientnet_lite0" and recipes[0]["dims"] == 256 and not recipes[0]["whiten"]
    assert len({label for label, _ in ROWS}) == len(ROWS)


def _row(set_name, label, recall, **kw):
    return {"section": "quality", "set": set_name, "label": label, "products": 1200, "queries": 1200,
            "recall_at_10": recall, "map_at_10": recall / 2, "rank1": recall, "source_rank1": 0.4,
            "photo_recall_at_10": recall, "embed_images_per_s": 40.0, "dims": 256, "size_bytes": 2_500_000, **kw}


def test_one_table_per_set_floor_last_failures_shown():
    rows = [_row("sellers", "floor: 16x16 grey pixels, L2", 0.1, floor=True), _row("sellers", "seed defaults", 0.5),
            _row("photos", "seed defaults", 0.6), {"section": "quality", "set": "photos", "label": "lite2",
                                                    "options": {}, "error": "out of memory"}]
    md = "\n".join(section({"rows": rows}))
    assert md.count("### sellers") == 1 and md.count("### photos") == 1
    sellers = md.split("### sellers")[1].split("### photos")[0]
    assert sellers.index("seed defaults") < sellers.index("floor: 16x16")
    assert "| seed defaults | 0.500 | 0.250 |" in sellers
    assert "failed: out of memory" in md


def test_only_quality_replaces_its_rows(tmp_path):
    path = tmp_path / "default.json"
    path.write_text(json.dumps({"rows": [{"section": "methods"}, _row("sellers", "old", 0.1)], "section_s": {},
                                "machine": {"date": "before"}}))
    new = {"rows": [_row("sellers", "new", 0.2)], "section_s": {"quality": 3.0}, "machine": {"date": "now"},
           "load_avg_end": [1.0]}
    merged = merge_into_existing(new, ["quality"], path)
    assert [r.get("label") for r in merged["rows"]] == [None, "new"]
    assert merged["machine"]["date"] == "before" and merged["runs"]["quality"]["date"] == "now"

import shutil
from pathlib import Path

import pytest

from indexer.catalog import CatalogError, Product, read_catalog
from indexer.fashion import convert_fashion, read_fashion, snake_case
from indexer.images import load_image
from indexer.report import ErrorReport, read_report
from lookalike.errors import BadRequest
from lookalike.settings import Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fashion_small"


def split(items):
    items = list(items)
    return ([i for i in items if isinstance(i, Product)], [i for i in items if isinstance(i, CatalogError)])


def test_snake_case():
    assert snake_case("masterCategory") == "master_category"
    assert snake_case("productDisplayName") == "product_display_name"
    assert snake_case("baseColour") == "base_colour"
    assert snake_case("Base Colour") == "base_colour"
    assert snake_case("id") == "id"


def test_fixture_rows_become_products_with_attributes():
    products, errors = split(read_fashion(FIXTURE))
    assert [p.id for p in products] == [str(i) for i in range(1001, 1011)]
    first = products[0]
    assert first == Product(
        id="1001", image="images/1001.jpg", title="Harbor Men Navy Blue Check Shirt",
        attributes={"gender": "Men", "master_category": "Apparel", "sub_category": "Topwear",
                    "article_type": "Shirts", "base_colour": "Navy Blue", "season": "Fall",
                    "year": 2011, "usage": "Casual"},
    )
    assert first.line == 2
    assert first.to_solr_doc()["year_l"] == 2011 and first.to_solr_doc()["base_colour_s"] == "Navy Blue"
    quoted = next(p for p in products if p.id == "1008")
    assert quoted.title == "Catstep Women Red, Gold Heels"
    empty_cells = next(p for p in products if p.id == "1009")
    assert "year" not in empty_cells.attributes and "usage" not in empty_cells.attributes


def test_fixture_problems_are_reported_with_line_numbers():
    _, errors = split(read_fashion(FIXTURE))
    assert [(e.line, e.id, e.reason) for e in errors] == [
        (12, "1011", "bad_csv_row"),  # unquoted comma: 11 cells
        (13, "1012", "bad_csv_row"),  # 3 cells
        (14, "1013", "missing_image"),
        (15, "1014", "bad_field"),  # year "twenty"
        (16, "1002", "duplicate_id"),
    ]
    assert "found 11" in errors[0].message
    assert "line 3" in errors[4].message


def test_line_numbers_count_physical_lines_of_quoted_newlines(tmp_path):
    (tmp_path / "images").mkdir()
    shutil.copy(FIXTURE / "images" / "1001.jpg", tmp_path / "images" / "7.jpg")
    (tmp_path / "styles.csv").write_text(
        "id,gender,productDisplayName\n"
        '5,Men,"two\nlines"\n'
        "6,Men\n"
        "7,Women,Seven\n"
    )
    items = list(read_fashion(tmp_path))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("CatalogError", 2), ("CatalogError", 4), ("Product", 5)
    ]
    assert items[0].reason == "missing_image"  # no 5.jpg


def test_header_without_required_columns_is_refused(tmp_path):
    (tmp_path / "styles.csv").write_text("sku,name\n1,a\n")
    with pytest.raises(BadRequest, match="productDisplayName"):
        list(read_fashion(tmp_path))
    with pytest.raises(BadRequest, match="cannot read"):
        list(read_fashion(tmp_path / "nope"))


def test_convert_writes_a_catalog_readable_from_elsewhere(tmp_path):
    out = tmp_path / "out" / "fashion.jsonl"
    with ErrorReport(tmp_path / "out" / "errors.jsonl") as report:
        summary = convert_fashion(FIXTURE, out, report)
    assert (summary.products, summary.failed) == (10, 5)
    products, errors = split(read_catalog(out))
    assert not errors and len(products) == 10
    settings = Settings(data_dir=tmp_path)
    for p in products:  # images resolve against the new catalog's folder
        assert load_image(p.image, out.parent, settings).size == (60, 80)
    assert products[0].image.endswith("fashion_small/images/1001.jpg") and not products[0].image.startswith("/")
    reported = list(read_report(tmp_path / "out" / "errors.jsonl"))
    assert [(r.line, r.reason, r.source) for r in reported][:2] == [(12, "bad_csv_row", "catalog"), (13, "bad_csv_row", "catalog")]
    assert report.counts_by_reason() == {"bad_csv_row": 2, "bad_field": 1, "duplicate_id": 1, "missing_image": 1}

import json
from pathlib import Path

from indexer.catalog import Product, read_catalog
from indexer.report import read_report
from lookalike.cli import main

FASHION = Path(__file__).resolve().parents[1] / "fixtures" / "fashion_small"


def test_demo_catalog_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path / "data"))
    assert main(["demo-catalog", str(tmp_path / "demo"), "--count", "9", "--seed", "5", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "wrote 9 products" in out and "catalog.jsonl" in out
    items = list(read_catalog(tmp_path / "demo" / "catalog.jsonl"))
    assert len(items) == 9 and all(isinstance(i, Product) for i in items)
    # default folder: DATA_DIR/demo
    assert main(["demo-catalog", "--count", "3", "--workers", "1"]) == 0
    assert (tmp_path / "data" / "demo" / "catalog.jsonl").is_file()


def test_demo_catalog_rejects_a_bad_count(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path))
    assert main(["demo-catalog", str(tmp_path / "d"), "--count", "0"]) == 2
    assert "error: --count must be at least 1" in capsys.readouterr().err


def test_import_fashion_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path))
    out = tmp_path / "fashion.jsonl"
    assert main(["import-fashion", str(FASHION), str(out)]) == 0
    text = capsys.readouterr().out
    assert "wrote 10 products" in text and "rejected 5 rows" in text and "2 bad_csv_row" in text
    assert len(list(read_catalog(out))) == 10
    assert len(list(read_report(tmp_path / "fashion.errors.jsonl"))) == 5
    assert main(["import-fashion", str(FASHION), str(out), "--json", "--report", str(tmp_path / "r.jsonl")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["products"] == 10 and summary["failed_by_reason"]["missing_image"] == 1


def test_import_fashion_on_a_folder_without_styles_is_a_clean_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path))
    assert main(["import-fashion", str(tmp_path), str(tmp_path / "o.jsonl")]) == 2
    assert "error: cannot read" in capsys.readouterr().err

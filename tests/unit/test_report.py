import json

from indexer.catalog import parse_lines
from indexer.report import ErrorReport, ItemError, read_report


def test_report_writes_one_json_line_per_error_and_counts_by_reason(tmp_path):
    path = tmp_path / "runs" / "errors.jsonl"
    (bad_line,) = parse_lines(['{"id": "x", "image": 3}'])
    with ErrorReport(path) as report:
        report.add_catalog_error(bad_line)
        report.add_item_error("a", "truncated", "image file is truncated", line=7)
        report.add_item_error("b", "missing", "no such file")
        report.add_item_error("c", "missing", "no such file", source="image")
        # flushed as it goes: a killed run still leaves what it saw
        assert len(path.read_text().splitlines()) == 4
    assert report.count == 4
    assert report.counts_by_reason() == {"missing": 2, "bad_image": 1, "truncated": 1}
    assert list(report.counts_by_reason()) == ["missing", "bad_image", "truncated"]
    items = list(read_report(path))
    assert items[0] == ItemError(id="x", line=1, source="catalog", reason="bad_image",
                                 message="image must be a string (path or URL), got a number")
    assert items[1] == ItemError(id="a", line=7, source="image", reason="truncated", message="image file is truncated")
    assert set(json.loads(path.read_text().splitlines()[2])) == {"id", "line", "source", "reason", "message"}


def test_clean_run_leaves_an_empty_report_replacing_a_stale_one(tmp_path):
    path = tmp_path / "errors.jsonl"
    path.write_text('{"id": "old"}\n')
    ErrorReport(path).close()
    assert path.read_text() == ""


def test_append_keeps_earlier_lines(tmp_path):
    path = tmp_path / "errors.jsonl"
    with ErrorReport(path) as r:
        r.add_item_error("a", "missing", "m")
    with ErrorReport(path, append=True) as r:
        r.add_item_error("b", "missing", "m")
    assert [i.id for i in read_report(path)] == ["a", "b"]


def test_report_without_a_file_only_counts():
    r = ErrorReport(None)
    r.add_item_error("a", "timeout", "slow")
    assert r.count == 1 and r.counts_by_reason() == {"timeout": 1}
    r.close()

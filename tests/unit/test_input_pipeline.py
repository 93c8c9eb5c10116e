"""The input side end to end, without Solr: a demo catalog with bad items mixed in is read and
its images loaded; every bad item is reported with its reason, every good one loads."""

from fixtures.broken_items import add_broken_items

from indexer.catalog import CatalogError, read_catalog
from indexer.demo_catalog import generate
from indexer.images import ImageLoadError, decode_image, fetch_bytes
from indexer.report import ErrorReport, read_report
from lookalike.settings import Settings


def test_every_bad_item_is_reported_and_every_good_one_loads(tmp_path):
    catalog = generate(tmp_path / "demo", count=12, seed=0, workers=1)
    mix = add_broken_items(catalog)
    settings = Settings(data_dir=tmp_path / "data")
    loaded = []
    with ErrorReport(tmp_path / "errors.jsonl") as report:
        for item in read_catalog(catalog):
            if isinstance(item, CatalogError):
                report.add_catalog_error(item)
                continue
            try:
                image = decode_image(fetch_bytes(item.image, catalog.parent, settings), settings)
            except ImageLoadError as err:
                report.add_item_error(item.id, err.reason, err.message, line=item.line)
                continue
            assert image.mode == "RGB"
            loaded.append(item.id)
    assert len(loaded) == 12 + len(mix.good)
    assert set(mix.good) <= set(loaded)
    got = {(e.id if e.source == "image" else f"line:{e.line}"): e.reason for e in read_report(report.path)}
    assert got == mix.failures
    assert report.count == len(mix.failures)
    assert report.counts_by_reason()["not_an_image"] == 2

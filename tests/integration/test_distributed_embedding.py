"""The load and embed stages on Ray in local mode (issue 14, item 6), against the local stages.

A small demo catalog with a broken image: Ray's workers (two processes, each loading the real
pretrained model once) must produce the vectors the in-process stages produce, report the same
failure, and a whole reindex with ``LOOKALIKE_EMBED_BACKEND=ray`` must index every good product.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.demo_catalog import generate
from indexer.models import open_model
from indexer.pipeline import embed_products, read_products
from indexer.reindex import ReindexOptions, reindex
from indexer.report import ErrorReport
from indexer.timing import StageTimer
from lookalike.solr import cloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray-catalog")
    path = generate(root, 10, seed=3, workers=1)
    (root / "images" / "broken.jpg").write_text("not an image")
    with path.open("a") as f:
        f.write(json.dumps({"id": "broken", "image": "images/broken.jpg"}) + "\n")
    return path


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")  # in the test extras: make test installs it
    yield ray
    ray.shutdown()


def _embed(settings, catalog, tmp_path):
    report = ErrorReport(tmp_path / "errors.jsonl")
    products = read_products(catalog, report)
    model = open_model(settings.model, settings)
    out = embed_products(model, products, catalog.parent, settings, report, StageTimer())
    report.close()
    return out, report


def test_ray_workers_embed_like_the_local_stages(solr, catalog, tmp_path, ray_session):
    local_settings = solr.settings.model_copy(update={"data_dir": tmp_path / "local"})
    ray_settings = solr.settings.model_copy(update={"data_dir": tmp_path / "ray", "embed_backend": "ray",
                                                    "ray_workers": 2})
    local, local_report = _embed(local_settings, catalog, tmp_path / "l")
    on_ray, ray_report = _embed(ray_settings, catalog, tmp_path / "r")
    assert [p.id for p in on_ray.products] == [p.id for p in local.products] and len(local.products) == 10
    assert np.allclose(on_ray.vectors, local.vectors, atol=1e-4)
    assert (on_ray.embedded, on_ray.cache_hits) == (10, 0)
    assert ray_report.counts_by_reason() == local_report.counts_by_reason() and ray_report.count == 1
    again, _ = _embed(ray_settings, catalog, tmp_path / "r2")  # the workers wrote the shared cache
    assert (again.embedded, again.cache_hits) == (0, 10)


def test_a_reindex_on_ray_indexes_every_good_product(solr, catalog, tmp_path, ray_session):
    settings = solr.settings.model_copy(update={"data_dir": tmp_path / "data", "embed_backend": "ray",
                                                "ray_workers": 2, "alias": "ray_alias", "meta_collection": "ray_meta"})
    options = ReindexOptions.from_settings(settings, catalog=catalog, alias="ray_alias", dims=4, adapt=False)
    try:
        summary = reindex(settings, solr.client, options, show_progress=False)
        assert (summary.indexed, summary.failed) == (10, 1)
        assert solr.client.select("ray_alias", {"q": "*:*", "rows": 0})["response"]["numFound"] == 10
    finally:
        target = cloud.alias_target(solr.client, "ray_alias")
        if target:
            cloud.delete_alias(solr.client, "ray_alias")
            cloud.delete_collection(solr.client, target)
        solr.client.collections_api("DELETE", name="ray_meta")

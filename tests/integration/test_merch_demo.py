"""Merchandising on a real demo catalog embedded by the pretrained EfficientNet-Lite0.

Two examples of the Hawaiian floral print must pull the other Hawaiian products in before
products of other patterns; the clusters cover every product and one of them is mostly
Hawaiian; applying and undoing a propagation leaves the index exactly as it was.
"""

from __future__ import annotations

import json

import pytest

from api_catalog import real_index
from merch import clusters, propagation
from merch.evaluate import evaluate
from merch.store import MerchStore
from merch_catalog import snapshot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 400
DIMS = 64


@pytest.fixture(scope="module")
def demo(solr, tmp_path_factory):
    with real_index(solr, tmp_path_factory.mktemp("merch-demo"), "merch", count=COUNT, dims=DIMS, seed=3) as (settings, summary, _):
        MerchStore(solr.client, settings).ensure()
        yield settings, summary.collection


def test_two_hawaiian_examples_find_the_other_hawaiian_products_first(solr, demo):
    settings, collection = demo
    result = evaluate(settings, solr.client, settings.alias, field="pattern_s", value="floral")
    print(json.dumps(result, indent=1))  # the figures for the notes (pytest -s)
    honest = result["without_example_variants"]
    assert honest["relevant"] >= 30
    # most Hawaiian products come before the products of other patterns
    assert honest["average_precision"] >= 0.6, honest
    assert honest["best_f1"]["recall"] >= 0.6 and honest["best_f1"]["precision"] >= 0.6, honest


def test_clusters_of_the_demo_cover_every_product_and_one_is_hawaiian(solr, demo):
    settings, collection = demo
    result = clusters.build(settings, solr.client, settings.alias)
    assert result.count == COUNT and sum(c.size for c in result.clusters) == COUNT
    assert result.k_rule == "silhouette" and 2 <= result.k <= 2 * round((COUNT / 2) ** 0.5)
    best = max((o["cluster_share"] for c in result.clusters for o in c.over
                if o["field"] == "pattern_s" and o["value"] == "floral"), default=0.0)
    assert best >= 0.6


def test_propagation_apply_and_undo_on_the_demo_restore_the_index_exactly(solr, demo):
    settings, collection = demo
    before = snapshot(solr, collection)
    floral = sorted(i for i, d in before.items() if d.get("pattern_s") == "floral")
    p = propagation.propose(settings, solr.client, settings.alias, attribute="print", value="hawaiian",
                            positives=floral[:2], threshold=0.5, user="ann")
    cands, total = propagation.candidates(settings, solr.client, p, limit=20)
    assert total >= 10
    propagation.decide(settings, solr.client, p.id, accept=[c.id for c in cands[:10]], reject=[cands[10].id])
    batch = propagation.apply(settings, solr.client, p.id, user="ann")
    assert batch.written == 10 and batch.model == "efficientnet_lite0" and batch.pca_version
    after = snapshot(solr, collection)
    assert {i for i in after if after[i] != before[i]} == {c.id for c in cands[:10]}
    propagation.undo(settings, solr.client, batch.id, user="ann")
    assert snapshot(solr, collection) == before

"""A bulk load on a real Solr: while ``bulk_load_mode`` is on with ``graph_at_merge``, the flushed
segments keep their vectors without an HNSW graph (the plugin's flat format marks them), a
``{!knn}`` search of them is still exact, and the force-merge after the load rewrites every one of
them, even a lone segment, with its graph; switching the mode off leaves nothing in the overlay.
The reindex job ends with no flat segment (its own check before the alias moves)."""

from __future__ import annotations

import numpy as np

from lookalike.solr import segments
from lookalike.solr_syntax import vector_literal

DIMS = 8


def _docs(start: int, n: int, rng: np.random.Generator) -> tuple[list[dict], np.ndarray]:
    vectors = rng.normal(size=(n, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [{"id": f"p{start + i}", "vector": v.tolist()} for i, v in enumerate(vectors)], vectors


def _knn_ids(client, collection: str, target: np.ndarray, k: int) -> list[str]:
    resp = client.get(f"{collection}/select", {"q": f"{{!knn f=vector topK={k}}}{vector_literal(target)}",
                                               "fl": "id", "rows": k})
    return [d["id"] for d in resp["response"]["docs"]]


def test_a_bulk_load_flushes_flat_segments_and_the_merge_gives_them_graphs(solr, collection_factory):
    client = solr.client
    name = collection_factory(dims=DIMS)
    rng = np.random.default_rng(3)
    segments.bulk_load_mode(client, name, True, graph_at_merge=True)
    overlay = client.get(f"{name}/config/overlay")["overlay"]
    assert overlay["userProps"] == {segments.FLAT_FLUSHES_PROPERTY: "true"}
    all_vectors = []
    for start in (0, 400):  # two commits: two flushed segments
        docs, vectors = _docs(start, 400, rng)
        client.post(f"{name}/update", {"commit": "true"}, json_body=docs)
        all_vectors.append(vectors)
    vectors = np.concatenate(all_vectors)
    assert segments.flat_segments(client, name) == {"shard1": 2}
    target = vectors[123]
    exact = [f"p{i}" for i in np.argsort(-(vectors @ target))[:10]]
    assert _knn_ids(client, name, target, 10) == exact, "a search of flat segments scans them all"

    segments.force_merge(client, name, 1)
    assert segments.flat_segments(client, name) == {"shard1": 0}
    assert segments.segment_counts(client, name) == {"shard1": 1}
    assert _knn_ids(client, name, target, 1) == ["p123"]
    segments.bulk_load_mode(client, name, False)
    overlay = client.get(f"{name}/config/overlay")["overlay"]
    assert overlay.get("userProps", {}) == {} and "maxTime" not in overlay["props"]["updateHandler"]["autoCommit"]

    # after the mode is off, a flush has its graph again
    docs, _ = _docs(800, 50, rng)
    client.post(f"{name}/update", {"commit": "true"}, json_body=docs)
    assert segments.flat_segments(client, name) == {"shard1": 0}
    assert segments.segment_counts(client, name) == {"shard1": 2}


def test_a_lone_flat_segment_is_rewritten_by_the_force_merge(solr, collection_factory):
    client = solr.client
    name = collection_factory(dims=DIMS)
    segments.bulk_load_mode(client, name, True, graph_at_merge=True)
    docs, _ = _docs(0, 200, np.random.default_rng(4))
    client.post(f"{name}/update", {"commit": "true"}, json_body=docs)
    assert segments.segment_counts(client, name) == {"shard1": 1}
    assert segments.flat_segments(client, name) == {"shard1": 1}
    segments.force_merge(client, name, 1)  # one segment already: Lucene alone would leave it flat
    assert segments.flat_segments(client, name) == {"shard1": 0}
    segments.bulk_load_mode(client, name, False)


def test_without_graph_at_merge_the_bulk_load_keeps_graphs(solr, collection_factory):
    client = solr.client
    name = collection_factory(dims=DIMS)
    segments.bulk_load_mode(client, name, True)
    assert client.get(f"{name}/config/overlay")["overlay"].get("userProps", {}) == {}
    docs, _ = _docs(0, 100, np.random.default_rng(5))
    client.post(f"{name}/update", {"commit": "true"}, json_body=docs)
    assert segments.flat_segments(client, name) == {"shard1": 0}
    segments.bulk_load_mode(client, name, False)


def test_the_indexer_reads_segments_and_a_shopper_cannot(solr, collection_factory):
    from lookalike.connection import SolrClient
    from lookalike.errors import SolrRequestError

    name = collection_factory(dims=DIMS)
    with SolrClient(solr.settings, solr.client.base_url, role="indexer") as indexer:
        assert segments.flat_segments(indexer, name) == {"shard1": 0}
    with SolrClient(solr.settings, solr.client.base_url, role="search") as shopper:
        try:
            segments.flat_segments(shopper, name)
        except SolrRequestError as err:
            assert err.solr_status == 403
        else:
            raise AssertionError("the search role read a core's segments")

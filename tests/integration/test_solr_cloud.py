"""Cloud administration against the real Solr: widths per collection, aliases, configsets, meta."""

from __future__ import annotations

import base64
import os

import numpy as np
import pytest

from lookalike.errors import BadRequest, NotFound, SolrRequestError
from lookalike.solr import cloud, cluster, segments

pytestmark = pytest.mark.integration


def _unit(dims: int, seed: int) -> list[float]:
    v = np.random.default_rng(seed).normal(size=dims)
    return [float(x) for x in v / np.linalg.norm(v)]


def test_base_configsets_are_in_zookeeper(solr):
    assert {"products", "lookalike_meta"} <= set(cloud.list_configsets(solr.client))


def test_each_collection_has_its_own_vector_width(solr, collection_factory):
    narrow = collection_factory(dims=4)
    wide = collection_factory(dims=8)
    assert cloud.vector_dims(solr.client, narrow) == 4
    assert cloud.vector_dims(solr.client, wide) == 8
    solr.client.add(wide, [{"id": "w", "vector": _unit(8, 1)}], commit=True)
    solr.client.add(narrow, [{"id": "n", "vector": _unit(4, 2)}], commit=True)
    with pytest.raises(SolrRequestError, match="vector"):  # Solr answers 500 for a wrong width
        solr.client.add(narrow, [{"id": "bad", "vector": _unit(8, 3)}], commit=True)
    assert solr.client.select(narrow, {"q": "id:bad"})["response"]["numFound"] == 0
    # the base configset was not touched: it still has no vector field
    assert cloud.vector_dims(solr.client, narrow) == 4
    info = solr.client.collections_api("CLUSTERSTATUS", collection=narrow)["cluster"]["collections"][narrow]
    assert info["configName"] == narrow


def test_widest_vectors_are_accepted(solr, collection_factory):
    name = collection_factory(dims=cloud.MAX_DIMS)
    vec = _unit(cloud.MAX_DIMS, 4)
    solr.client.add(name, [{"id": "a", "vector": vec}], commit=True)
    resp = solr.client.select(name, {"q": "{!knn f=vector topK=1}" + str(vec), "fl": "id,score"})
    assert resp["response"]["docs"][0]["id"] == "a"


@pytest.mark.parametrize("dims", [0, cloud.MAX_DIMS + 1])
def test_impossible_widths_are_refused_before_solr(solr, dims):
    with pytest.raises(BadRequest, match="vector width"):
        cloud.create_collection(solr.client, f"never_{dims}", dims=dims)
    assert f"never_{dims}" not in cloud.list_collections(solr.client)


def test_delete_collection_removes_its_configset(solr):
    name = f"gone_{os.getpid()}"
    cloud.create_collection(solr.client, name, dims=4)
    assert name in cloud.list_configsets(solr.client)
    cloud.delete_collection(solr.client, name)
    assert name not in cloud.list_collections(solr.client)
    assert name not in cloud.list_configsets(solr.client)
    assert "products" in cloud.list_configsets(solr.client)
    with pytest.raises(NotFound):
        cloud.delete_collection(solr.client, name)


def test_create_collection_refuses_an_existing_name(solr, collection_factory):
    name = collection_factory(dims=4)
    with pytest.raises(BadRequest, match="already exists"):
        cloud.create_collection(solr.client, name, dims=4)


def test_alias_moves_between_collections(solr, collection_factory):
    first, second = collection_factory(dims=4), collection_factory(dims=4)
    alias = f"alias_{os.getpid()}"
    assert cloud.alias_target(solr.client, alias) is None
    cloud.create_alias(solr.client, alias, first)
    assert cloud.alias_target(solr.client, alias) == first
    solr.client.add(second, [{"id": "in-second", "vector": _unit(4, 5)}], commit=True)
    cloud.create_alias(solr.client, alias, second)
    assert cloud.alias_target(solr.client, alias) == second
    assert cloud.list_aliases(solr.client)[alias] == second
    # queries through the alias reach the collection it points at
    assert solr.client.select(alias, {"q": "*:*"})["response"]["numFound"] == 1
    st = cluster.status(solr.settings)
    assert st.aliases[alias] == second and second in st.collections


def test_meta_collection_stores_a_large_payload(solr):
    name = f"meta_{os.getpid()}"
    cloud.create_meta_collection(solr.client, name)
    try:
        blob = base64.b64encode(np.random.default_rng(0).bytes(300_000)).decode()
        solr.client.add(name, [{"id": "pca:1", "kind_s": "pca", "payload": blob}], commit=True)
        doc = solr.client.get(f"{name}/get", {"id": "pca:1"})["doc"]
        assert doc["payload"] == blob and doc["kind_s"] == "pca"
    finally:
        cloud.delete_collection(solr.client, name)
    assert "lookalike_meta" in cloud.list_configsets(solr.client)


def test_status_reports_the_running_node(solr):
    st = cluster.status(solr.settings)
    assert st.running and len(st.live_nodes) == 1
    if solr.kind == "local":
        assert [n.port for n in st.nodes] == [solr.port]
        assert st.nodes[0].healthy and st.nodes[0].zookeeper
        assert st.zk_host == f"127.0.0.1:{solr.port + 1000}"


def test_lucene_uses_simd_vectors_on_java_21_and_newer(solr):
    """The node's JVM flags switch on Lucene's Panama vector code where the JDK has it."""
    if solr.kind != "local":
        pytest.skip("the Docker image chooses its own JVM flags")
    from lookalike.solr import node
    from lookalike.solr.java import find_jdk

    jdk = find_jdk(solr.settings.java_home)
    log = node.NodeFiles(solr.settings.solr_dir, solr.port).solr_log.read_text(errors="replace")
    enabled = "Java vector incubator API enabled" in log
    assert enabled == (jdk.feature >= 21), f"{jdk.describe()}: SIMD {'on' if enabled else 'off'}"


def test_force_merge_leaves_the_segments_asked_for_and_the_same_answers(solr, collection_factory):
    name = collection_factory(dims=4, shards=2)
    for batch in range(4):  # four commits: four segments on each shard
        solr.client.add(name, [{"id": f"m{batch}-{i}", "group": f"g{batch}-{i}", "vector": _unit(4, 100 * batch + i)}
                               for i in range(10)], commit=True)
    before = segments.segment_counts(solr.client, name)
    assert set(before) == {"shard1", "shard2"} and max(before.values()) > 1, before
    query = {"q": "{!knn f=vector topK=40}" + str(_unit(4, 7)), "fl": "id", "rows": 40}
    ranked = [d["id"] for d in solr.client.select(name, query)["response"]["docs"]]
    after = segments.force_merge(solr.client, name, 1)
    assert after == {"shard1": 1, "shard2": 1}
    assert [d["id"] for d in solr.client.select(name, query)["response"]["docs"]] == ranked

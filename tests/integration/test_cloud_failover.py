"""A node of a three-node cloud dies under the API: no wrong answer, no lost product (issue 14).

Its own cluster (three JVMs with an embedded three-server ZooKeeper ensemble), a product
collection of 2 shards x 2 replicas and the metadata collection on every node. The API is
pointed at node 1, the node that started first; node 1 (a ZooKeeper server, and the API's only
configured address) is killed with SIGKILL while requests run. ZooKeeper keeps its quorum, the
client fails over to the other live nodes (learned from Solr), the metadata collection answers
from its other copies, and every answer must equal the one before the kill. Expected answers are the API's own answers
before the kill, which tests/integration/test_api_products.py checks against numpy.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

import api_catalog
from lookalike.connection import SolrClient
from lookalike.settings import Settings
from lookalike.solr import cloud, cluster, node

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEAP = "384m"


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("three-nodes")
    port = node.free_base_port(3)
    settings = Settings(data_dir=data_dir, solr_url=node.base_url(port), solr_heap=HEAP, replicas=2)
    cluster.start(settings, nodes=3, port=port, heap=HEAP)
    try:
        yield settings, cluster._ports(port, 3)
    finally:
        cluster.stop(settings)


def test_killing_a_node_costs_no_wrong_answer(three_nodes, tmp_path):
    settings, ports = three_nodes
    admin = SolrClient(settings, role="admin")
    collection = "failover_products"
    cloud.create_collection(admin, collection, dims=api_catalog.DIMS, shards=2, replicas=2)
    cat = api_catalog.build(admin, settings, tmp_path, collection)
    meta = admin.collections_api("CLUSTERSTATUS", collection=settings.meta_collection)
    copies = meta["cluster"]["collections"][settings.meta_collection]["shards"]["shard1"]["replicas"]
    assert len(copies) == 3  # one per live node

    status = cluster.status(settings)
    assert [n.port for n in status.nodes if n.zookeeper] == ports  # the ensemble: one server per node
    via_node1 = settings.model_copy(update={"solr_url": node.base_url(ports[0])})
    requests_ = [("/api/products/a1/similar", {"k": 5, "mode": "approx"}),
                 ("/api/products/b2/similar", {"k": 5, "mode": "exact"}),
                 ("/api/products/d1", {}),
                 ("/api/products", {"k": 20})]
    with api_catalog.http(via_node1) as api:
        before = {}
        for path, params in requests_:
            r = api.get(path, params=params)
            assert r.status_code == 200, r.text
            before[path] = r.json().get("products", r.json().get("id"))
        health = api.get("/api/health").json()  # (not "ok": this hand-made index has no stored PCA)
        assert health["solr"]["reachable"] and health["index"]["dims"] == api_catalog.DIMS
        api.get("/api/products/a1/similar", params={"k": 1})  # let the client learn the live nodes

        victim = cluster.node_files(settings)[0]
        assert victim.port == ports[0]
        os.kill(victim.read_pid(), signal.SIGKILL)

        statuses: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for path, params in requests_:
                r = api.get(path, params=params)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    assert r.json().get("products", r.json().get("id")) == before[path], path
                else:
                    assert r.status_code == 503, r.text  # a short outage says so; never 400 or 502
            health = api.get("/api/health")
            assert health.status_code == 200 and health.json()["index"]["dims"] == api_catalog.DIMS, health.text
        assert statuses.count(200) >= len(statuses) - 3, statuses
        assert statuses[-len(requests_):] == [200] * len(requests_)
        survivor = SolrClient(settings.model_copy(update={"solr_url": node.base_url(ports[2])}), role="admin")
        total = survivor.select(collection, {"q": "*:*", "rows": 0})["response"]["numFound"]
        assert total == len(cat.docs)
        # the cluster state can still change without node 1: ZooKeeper has its quorum
        survivor.collections_api("CREATEALIAS", name="after_the_kill", collections=collection)
        assert cloud.alias_target(survivor, "after_the_kill") == collection
        # and status says what is down, through a node that lives
        after = cluster.status(settings)
        states = after.collections[collection]["replica_states"]
        assert after.collections[collection]["health"] == "YELLOW"
        assert any(row.endswith(": down") for rows in states.values() for row in rows)


def test_a_killed_node_restarts_and_a_new_node_joins(three_nodes):
    """After the kill above (or on its own): restart node 1 in its role, then add a fourth node."""
    settings, ports = three_nodes
    first = cluster.node_files(settings)[0]
    pid = first.read_pid()
    if pid and node.is_our_node(pid, first.port):  # run alone: kill it here
        os.kill(pid, signal.SIGKILL)
    st = cluster.restart_node(settings, ports[0])
    assert [n.healthy for n in st.nodes] == [True, True, True]
    assert f"127.0.0.1:{ports[0]}_solr" in st.live_nodes
    deadline = time.monotonic() + 60  # its replicas recover from the others
    while time.monotonic() < deadline and any(c["health"] != "GREEN" for c in st.collections.values()):
        time.sleep(1)
        st = cluster.status(settings)
    assert all(c["health"] == "GREEN" for c in st.collections.values()), st.collections
    st = cluster.add_node(settings)
    assert len(st.live_nodes) == 4 and st.nodes[-1].port == ports[-1] + 1 and st.nodes[-1].healthy


def _leader_ports(admin: SolrClient, collection: str) -> set[int]:
    shards = admin.collections_api("CLUSTERSTATUS", collection=collection)["cluster"]["collections"][collection]["shards"]
    return {int(r["node_name"].split("_")[0].rsplit(":", 1)[1])
            for s in shards.values() for r in s["replicas"].values() if r.get("leader") == "true"}


def test_killing_a_node_while_the_indexer_writes_loses_no_product(three_nodes):
    """The indexer's write stage keeps writing through a node's death: the batches that met the
    dead leader are sent again once a new leader is elected, so every product is there, on every
    copy once the node is back (issue 14: a reindex that lost a node failed with
    "Async exception during distributed update")."""
    import threading

    import numpy as np

    from indexer.writer import SolrWriter

    settings, ports = three_nodes
    admin = SolrClient(settings, role="admin")
    collection = "written_through_a_kill"
    cloud.create_collection(admin, collection, dims=8, shards=2, replicas=2)
    live = {f.port: f for f in cluster.node_files(settings) if f.read_pid() and node.is_our_node(f.read_pid(), f.port)}
    # a node that leads a shard of this collection, and not the one the writer was pointed at
    victim = next(p for p in sorted(_leader_ports(admin, collection)) if p != ports[0] and p in live)
    n = 20_000
    rng = np.random.default_rng(14)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    writer = SolrWriter(SolrClient(settings, node.base_url(ports[0]), role="indexer"), collection, batch_size=250)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(n):
                writer.add({"id": f"p{i}", "group": f"g{i // 3}", "vector": vectors[i]})
            writer.commit()
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            failure.append(err)

    thread = threading.Thread(target=write)
    thread.start()
    while writer.written < n // 4 and thread.is_alive():
        time.sleep(0.05)  # until a quarter is written
    assert thread.is_alive(), "the write ended before the kill"
    os.kill(live[victim].read_pid(), signal.SIGKILL)
    thread.join(timeout=240)
    assert not thread.is_alive() and not failure, failure
    assert writer.written == n
    survivor = SolrClient(settings.model_copy(update={"solr_url": node.base_url(ports[0])}), role="admin")
    assert survivor.select(collection, {"q": "*:*", "rows": 0})["response"]["numFound"] == n
    # back again, the dead node's copies recover to the same documents
    cluster.restart_node(settings, victim)
    deadline = time.monotonic() + 120
    st = cluster.status(settings)
    while time.monotonic() < deadline and st.collections[collection]["health"] != "GREEN":
        time.sleep(1)
        st = cluster.status(settings)
    assert st.collections[collection]["health"] == "GREEN", st.collections[collection]
    shards = admin.collections_api("CLUSTERSTATUS", collection=collection)["cluster"]["collections"][collection]["shards"]
    per_shard = []
    for shard in shards.values():
        counts = {SolrClient(settings, r["base_url"], role="admin", failover=False).get(
            f"{r['core']}/select", {"q": "*:*", "rows": 0, "distrib": "false"})["response"]["numFound"]
            for r in shard["replicas"].values()}
        assert len(counts) == 1, counts  # both copies of the shard hold the same products
        per_shard.append(counts.pop())
    assert sum(per_shard) == n

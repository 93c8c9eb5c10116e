"""`lookalike solr ...` as a user runs it: clear one-line errors with exit code 2, and a full
start/status/stop cycle of a three-node cloud that leaves no process behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lookalike.settings import Settings
from lookalike.solr import cluster, node

pytestmark = pytest.mark.integration

LOOKALIKE = [sys.executable, "-m", "lookalike.cli"]


def run_cli(args: list[str], data_dir: Path, timeout_s: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOOKALIKE_DATA_DIR": str(data_dir), "LOOKALIKE_SOLR_HEAP": "512m"}
    return subprocess.run([*LOOKALIKE, *args], capture_output=True, text=True, env=env, timeout=timeout_s)


def our_processes(data_dir: Path) -> list[int]:
    """Pids of any process whose command line mentions ``data_dir`` (our nodes' --home)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(data_dir) in cmdline and node.LAUNCHER_CLASS in cmdline:
            found.append(int(proc.name))
    return found


def test_busy_port_is_a_clear_one_line_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_cli(["solr", "start", "--port", str(port)], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: port {port} is already in use: choose another with --port"
    assert our_processes(tmp_path) == []


def test_busy_zookeeper_port_is_named(tmp_path):
    port = node.free_base_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port + node.ZK_PORT_OFFSET))
        busy.listen()
        out = run_cli(["solr", "start", "--port", str(port)], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"error: ZooKeeper's port {port + 1000} is already in use: choose another with --port"
    )


def test_runtime_not_built_names_make_solr(tmp_path):
    env_dir = tmp_path / "data"
    out = subprocess.run(
        [*LOOKALIKE, "solr", "start", "--port", str(node.free_base_port())],
        capture_output=True, text=True,
        env={**os.environ, "LOOKALIKE_DATA_DIR": str(env_dir), "LOOKALIKE_SOLR_RUNTIME_DIR": str(tmp_path / "none")},
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: the Solr runtime is not built") and "`make solr`" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_node_that_fails_shows_its_log(tmp_path):
    """A broken solr.xml makes Solr fail: the error carries the log's last lines and its path."""
    port = node.free_base_port()
    files = node.NodeFiles(tmp_path / "solr", port)
    files.home.mkdir(parents=True)
    (files.home / "solr.xml").write_text("<solr><this is not xml")
    out = run_cli(["solr", "start", "--port", str(port)], tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: Solr node on port {port} exited with code 1 while starting")
    assert f"full log: {files.solr_log}" in out.stderr
    assert "solr.xml" in out.stderr  # Solr's own complaint, from the log tail
    assert our_processes(tmp_path) == []
    assert not files.pid_file.exists()


def test_a_jvm_that_refuses_its_options_shows_the_console_log(tmp_path):
    port = node.free_base_port()
    out = run_cli(["solr", "start", "--port", str(port), "--heap", "lots"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: Solr node on port {port} exited with code 1 while starting")
    assert "Invalid" in out.stderr and "heap" in out.stderr  # the JVM's own words
    assert f"full log: {node.NodeFiles(tmp_path / 'solr', port).console_log}" in out.stderr
    assert our_processes(tmp_path) == []


def test_status_when_nothing_runs(tmp_path):
    port = node.free_base_port()
    out = subprocess.run(
        [*LOOKALIKE, "solr", "status"], capture_output=True, text=True,
        env={**os.environ, "LOOKALIKE_DATA_DIR": str(tmp_path), "LOOKALIKE_SOLR_URL": node.base_url(port)},
    )
    assert out.returncode == 1
    assert "not running" in out.stdout


@pytest.mark.slow
def test_three_node_cloud_starts_and_stops_without_leftovers(tmp_path):
    port = node.free_base_port(3)
    try:
        out = run_cli(["solr", "start", "--nodes", "3", "--port", str(port)], tmp_path)
        assert out.returncode == 0, out.stderr
        assert "Solr is up" in out.stdout
        assert len(our_processes(tmp_path)) == 3

        out = run_cli(["solr", "status", "--json"], tmp_path)
        assert out.returncode == 0, out.stderr
        st = json.loads(out.stdout)
        assert sorted(st["live_nodes"]) == sorted(f"127.0.0.1:{p}_solr" for p in (port, port + 1, port + 2))
        assert [n["healthy"] for n in st["nodes"]] == [True, True, True]
        # from three nodes on, ZooKeeper is an ensemble embedded in all three (issue 14)
        assert [n["zookeeper"] for n in st["nodes"]] == [True, True, True]
        assert st["zk_host"] == ",".join(f"127.0.0.1:{port + 1000 + 3 * i}" for i in range(3))
        assert {"products", "lookalike_meta"} <= set(st["configsets"])

        again = run_cli(["solr", "start", "--nodes", "3", "--port", str(port)], tmp_path)
        assert again.returncode == 0 and again.stdout.startswith("Solr was already running")
        assert len(our_processes(tmp_path)) == 3

        human = run_cli(["solr", "status"], tmp_path).stdout
        assert f"ZooKeeper:   127.0.0.1:{port + 1000},127.0.0.1:{port + 1003}" in human and "ensemble" in human
        assert human.count("healthy") == 3

        # a collection spread over the three nodes answers through any of them
        from lookalike.connection import SolrClient
        from lookalike.solr import cloud

        settings = Settings(data_dir=tmp_path, solr_url=node.base_url(port + 2))
        with SolrClient(settings, role="admin") as client:
            cloud.create_collection(client, "spread", dims=4, shards=3)
            shards = client.collections_api("CLUSTERSTATUS", collection="spread")["cluster"]["collections"]["spread"]["shards"]
            hosts = {r["node_name"] for s in shards.values() for r in s["replicas"].values()}
            assert len(hosts) == 3
            client.add("spread", [{"id": str(i), "vector": [1.0, 0.0, 0.0, 0.0]} for i in range(9)], commit=True)
        with SolrClient(settings, node.base_url(port), role="admin") as client:
            assert client.select("spread", {"q": "*:*"})["response"]["numFound"] == 9
        # Locked cluster: strangers get 401 on every node; the search role's distributed
        # requests (shard fan-out, the plugin's internal /get of like= ids on other nodes)
        # pass between nodes on Solr's PKI signatures.
        for p in (port, port + 1, port + 2):
            anon = requests.get(f"{node.base_url(p)}/admin/collections", params={"action": "LIST"}, timeout=30)
            assert anon.status_code == 401
        with SolrClient(settings, node.base_url(port + 1), role="search") as reader:
            assert len(cloud.real_time_get(reader, "spread", [str(i) for i in range(9)], fl="id")) == 9
            like = reader.select("spread", {"q": "{!lookalike f=vector like=0,4,8}", "fl": "id,[shard]", "rows": 20})
            assert like["response"]["numFound"] == 9
            assert len({d["[shard]"] for d in like["response"]["docs"]}) == 3
    finally:
        out = run_cli(["solr", "stop"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"stopped Solr on port(s) {port}, {port + 1}, {port + 2}"
    assert our_processes(tmp_path) == []
    assert not list((tmp_path / "solr").glob("*.pid"))
    assert not any(node.port_in_use(p) for p in (port, port + 1, port + 2, port + 1000))
    assert cluster.stop(Settings(data_dir=tmp_path)) == []

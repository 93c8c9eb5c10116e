"""Node process helpers and start's checks that need no Solr: runtime, ports, command line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lookalike.errors import ConfigError
from lookalike.settings import Settings
from lookalike.solr import cluster, node
from lookalike.solr.java import Jdk


def test_runtime_not_built_names_the_make_target(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", solr_runtime_dir=tmp_path / "no-runtime")
    with pytest.raises(ConfigError) as err:
        cluster.start(settings, port=node.free_base_port())
    assert "make solr" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("nodes, port", [(0, 8983), (10, 8983), (1, 80), (1, 65000)])
def test_start_rejects_bad_nodes_and_ports(tmp_path, nodes, port):
    with pytest.raises(ConfigError):
        cluster.start(Settings(data_dir=tmp_path), nodes=nodes, port=port)


def test_port_in_use_sees_a_listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert node.port_in_use(port)
    assert not node.port_in_use(node.free_base_port())


def test_free_base_port_leaves_room_for_nodes_and_zookeeper():
    p = node.free_base_port(3)
    assert not any(node.port_in_use(q) for q in (p, p + 1, p + 2, p + node.ZK_PORT_OFFSET))


def test_command_runs_zookeeper_only_on_the_first_node(tmp_path):
    files = node.NodeFiles(tmp_path, 8983)
    jdk = Jdk(Path("/jdk"), 25)
    first = node.command(jdk, tmp_path / "rt", files, heap="1g", zk_host=None)
    other = node.command(jdk, tmp_path / "rt", node.NodeFiles(tmp_path, 8984), heap="1g", zk_host="127.0.0.1:9983")
    assert first[0] == "/jdk/bin/java" and "-Xmx1g" in first
    assert "--zk-run" in first and "--zk-host" not in first
    assert other[other.index("--zk-host") + 1] == "127.0.0.1:9983" and "--zk-run" not in other
    assert first[first.index("--port") + 1] == "8983"
    assert first[first.index("--home") + 1] == str(tmp_path / "node-8983" / "home")
    assert f"-Dsolr.log.dir={tmp_path / 'node-8983' / 'logs'}" in first
    assert "jdk.incubator.vector" in first


def test_log_tail_prefers_this_starts_solr_log_and_keeps_the_last_lines(tmp_path):
    import os

    files = node.NodeFiles(tmp_path, 8983)
    files.log_dir.mkdir(parents=True)
    files.console_log.write_text("console\n")
    path, tail = node.log_tail(files)
    assert path == files.console_log and tail == "console"
    files.solr_log.write_text("".join(f"line {i}\n" for i in range(100)))
    files.pid_file.write_text("1\n")
    os.utime(files.pid_file, ns=(1_000_000_000, 1_000_000_000))
    path, tail = node.log_tail(files, lines=3)
    assert path == files.solr_log and tail.splitlines() == ["line 97", "line 98", "line 99"]
    # the JVM failed before Solr logged: solr.log is an earlier run's, older than the pid file
    os.utime(files.solr_log, ns=(500_000_000, 500_000_000))
    assert node.log_tail(files)[0] == files.console_log


def test_a_recycled_pid_is_not_taken_for_our_node(tmp_path):
    import os

    assert not node.is_our_node(os.getpid(), 8983)


def test_stop_with_nothing_running(tmp_path):
    assert cluster.stop(Settings(data_dir=tmp_path)) == []


def test_log_tail_leaves_out_stack_frames(tmp_path):
    files = node.NodeFiles(tmp_path, 8983)
    files.log_dir.mkdir(parents=True)
    files.solr_log.write_text(
        "ERROR could not start\n"
        "org.x.SolrException: bad solr.xml\n"
        "\tat org.x.A.b(A.java:1)\n"
        "Caused by: org.xml.sax.SAXParseException: not xml\n"
        "\tat org.x.C.d(C.java:2)\n"
        "\t... 12 more\n"
    )
    _, tail = node.log_tail(files)
    assert tail.splitlines() == [
        "ERROR could not start",
        "org.x.SolrException: bad solr.xml",
        "Caused by: org.xml.sax.SAXParseException: not xml",
    ]


def test_free_base_port_keeps_node_and_zookeeper_below_the_ephemeral_range():
    for _ in range(50):
        p = node.free_base_port(3)
        assert p + 2 + node.ZK_PORT_OFFSET < 32768


def test_an_ensemble_s_ports_do_not_overlap_and_stay_free():
    client = node.zk_client_ports(20000, 3)
    assert client == [21000, 21003, 21006]
    used = node.zk_ports(20000, 3)
    assert len(used) == len(set(used)) == 9  # client, quorum and election port of each server
    assert node.zk_ports(20000, 1) == [21000]
    p = node.free_base_port(3)
    assert not any(node.port_in_use(q) for q in node.zk_ports(p, 3))


def test_command_lines_for_each_zookeeper_mode(tmp_path):
    jdk = Jdk(home=Path("/usr"), feature=17)
    files = node.NodeFiles(tmp_path, 20001)
    ensemble = "127.0.0.1:21000,127.0.0.1:21003,127.0.0.1:21006"
    cmd = node.command(jdk, tmp_path, files, heap="512m", zk_host=None, zk_ensemble=ensemble, zk_id=1)
    assert cmd[-4:] == ["--zk-ensemble", ensemble, "--zk-id", "1"]
    assert node.command(jdk, tmp_path, files, heap="512m", zk_host="zk1:2181/solr")[-2:] == ["--zk-host", "zk1:2181/solr"]
    assert node.command(jdk, tmp_path, files, heap="512m", zk_host=None)[-1] == "--zk-run"


def test_an_ensemble_needs_three_nodes(tmp_path):
    with pytest.raises(ConfigError, match="ensemble needs --nodes 3"):
        cluster.start(Settings(data_dir=tmp_path), nodes=2, port=node.free_base_port(2), ensemble=True)


def test_each_node_gets_the_packed_filter_vectors_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster.cds, "flags", lambda *a, **kw: [])
    jdk = Jdk(Path("/jdk"), 25)
    cmd = cluster._command(Settings(data_dir=tmp_path, filter_vectors_mb=64), jdk, node.NodeFiles(tmp_path, 8983),
                           "1g", None)
    assert "-Dlookalike.filterVectorsMB=64" in cmd  # the products configset's cache reads it

"""Start, stop and inspect a local SolrCloud of 1..N nodes built from the Maven runtime.

Node 1 listens on ``port`` and runs the embedded ZooKeeper on ``port + 1000``; node ``i``
listens on ``port + i - 1`` and joins that ZooKeeper. ``start`` polls each node's health
(never a fixed sleep), then uploads the ``products`` and ``lookalike_meta`` configsets.
``stop`` stops every node recorded under ``<data_dir>/solr/`` and leaves no JVM behind.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import ConfigError, LookalikeError, SolrNodeError
from lookalike.settings import Settings
from lookalike.solr import cds, cloud, node
from lookalike.solr.java import find_jdk

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
MAX_NODES = 9


@dataclass
class NodeStatus:
    port: int
    pid: int | None
    running: bool
    healthy: bool
    zookeeper: bool
    log: str


@dataclass
class ClusterStatus:
    url: str
    running: bool
    zk_host: str | None = None
    java: str | None = None
    nodes: list[NodeStatus] = field(default_factory=list)
    live_nodes: list[str] = field(default_factory=list)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    configsets: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state_path(settings: Settings) -> Path:
    return settings.solr_dir / STATE_FILE


def _read_state(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads(_state_path(settings).read_text())
    except (OSError, ValueError):
        return None


def _ports(port: int, nodes: int) -> list[int]:
    return [port + i for i in range(nodes)]


def start(settings: Settings, nodes: int = 1, port: int = 8983, heap: str = "1g") -> ClusterStatus:
    """Start ``nodes`` Solr nodes (node 1 with ZooKeeper) and upload our configsets.

    Returns the cluster's status once every node is healthy and live in ZooKeeper. When this
    exact cluster is already running it is left alone. Anything started is stopped again if a
    later step fails, so a failed start leaves no JVM behind.
    """
    if not 1 <= nodes <= MAX_NODES:
        raise ConfigError(f"--nodes must be between 1 and {MAX_NODES}, got {nodes}")
    if not 1024 <= port <= 64535 - nodes:
        raise ConfigError(f"--port must be between 1024 and {64535 - nodes} (ZooKeeper uses port + 1000), got {port}")
    node.check_runtime(settings.solr_runtime_dir)
    jdk = find_jdk(settings.java_home)
    ports = _ports(port, nodes)
    files = [node.NodeFiles(settings.solr_dir, p) for p in ports]

    running = [f for f in files if (pid := f.read_pid()) and node.is_our_node(pid, f.port)]
    if running:
        state = _read_state(settings)
        if len(running) == nodes and state and state.get("ports") == ports:
            log.info("Solr is already running on ports %s", ports)
            return status(settings)
        raise SolrNodeError(
            f"a Solr node of ours is already running on port {running[0].port}: "
            "run `lookalike solr stop` first"
        )
    other = [f for f in node_files(settings) if (pid := f.read_pid()) and node.is_our_node(pid, f.port)]
    if other:
        raise SolrNodeError(
            f"another Solr cluster of ours is running on port {other[0].port} with this data dir: "
            "run `lookalike solr stop` first"
        )
    for p in [*ports, port + node.ZK_PORT_OFFSET]:
        if node.port_in_use(p):
            what = "ZooKeeper's port" if p == port + node.ZK_PORT_OFFSET else "port"
            raise ConfigError(f"{what} {p} is already in use: choose another with --port")

    settings.solr_dir.mkdir(parents=True, exist_ok=True)
    zk_host = f"127.0.0.1:{port + node.ZK_PORT_OFFSET}"
    deadline = time.monotonic() + settings.solr_start_timeout_s
    procs = []
    t0 = time.monotonic()
    try:
        first = node.spawn(_command(settings, jdk, files[0], heap, None), files[0])
        procs.append(first)
        node.wait_healthy(first, files[0], deadline)
        rest = [
            node.spawn(_command(settings, jdk, f, heap, zk_host), f)
            for f in files[1:]
        ]
        procs.extend(rest)
        for proc, f in zip(rest, files[1:]):
            node.wait_healthy(proc, f, deadline)
        _write_state(settings, ports, zk_host, jdk.describe(), heap)
        with SolrClient(settings, node.base_url(port), failover=False) as client:
            _wait_live_nodes(client, nodes, deadline)
            cloud.upload_base_configsets(client)
    except BaseException:
        node.stop_pids([p.pid for p in procs])
        for f in files:
            f.pid_file.unlink(missing_ok=True)
            cds.finish(settings.solr_runtime_dir, f.port, exited_cleanly=False)
        _state_path(settings).unlink(missing_ok=True)
        raise
    log.info("Solr cloud of %d node(s) healthy after %.1f s on %s", nodes, time.monotonic() - t0, jdk.describe())
    return status(settings)


def _command(settings: Settings, jdk, files: node.NodeFiles, heap: str, zk_host: str | None) -> list[str]:
    extra = cds.flags(settings.solr_runtime_dir, jdk, files.port)
    return node.command(jdk, settings.solr_runtime_dir, files, heap=heap, zk_host=zk_host, extra_jvm_flags=extra)


def _write_state(settings: Settings, ports: list[int], zk_host: str, java: str, heap: str) -> None:
    state = {"ports": ports, "zk_host": zk_host, "java": java, "heap": heap, "url": node.base_url(ports[0])}
    _state_path(settings).write_text(json.dumps(state, indent=2) + "\n")


def _wait_live_nodes(client: SolrClient, expected: int, deadline: float) -> None:
    while True:
        live = client.collections_api("CLUSTERSTATUS").get("cluster", {}).get("live_nodes", [])
        if len(live) >= expected:
            return
        if time.monotonic() > deadline:
            raise SolrNodeError(f"only {len(live)} of {expected} Solr nodes registered in ZooKeeper in time")
        time.sleep(0.25)


def node_files(settings: Settings) -> list[node.NodeFiles]:
    """Every node with a pid file under the data dir."""
    if not settings.solr_dir.is_dir():
        return []
    out = []
    for pid_file in sorted(settings.solr_dir.glob("node-*.pid")):
        try:
            out.append(node.NodeFiles(settings.solr_dir, int(pid_file.stem.split("-", 1)[1])))
        except ValueError:
            continue
    return out


def running_ports(settings: Settings) -> list[int]:
    """Ports of our nodes that are running from this data dir."""
    return [f.port for f in node_files(settings) if (pid := f.read_pid()) and node.is_our_node(pid, f.port)]


def stop(settings: Settings) -> list[int]:
    """Stop every node recorded under the data dir; returns the ports that were running.

    Nodes without ZooKeeper go first, together; the ZooKeeper node last. Each gets SIGTERM
    (Solr closes its cores, ZooKeeper shuts down), then SIGKILL after a grace period.
    """
    state = _read_state(settings) or {}
    zk_port = (state.get("ports") or [None])[0]
    files = node_files(settings)
    alive = [(f, pid) for f in files if (pid := f.read_pid()) and node.is_our_node(pid, f.port)]
    followers = [pid for f, pid in alive if f.port != zk_port]
    leader = [pid for f, pid in alive if f.port == zk_port]
    killed = node.stop_pids(followers) + node.stop_pids(leader)
    pids = dict(alive)
    for f in files:
        f.pid_file.unlink(missing_ok=True)
        cds.finish(settings.solr_runtime_dir, f.port, exited_cleanly=pids.get(f) not in killed)
    _state_path(settings).unlink(missing_ok=True)
    return sorted(f.port for f, _ in alive)


def status(settings: Settings) -> ClusterStatus:
    """What runs: our nodes (from the data dir) and what Solr itself says about the cloud."""
    state = _read_state(settings)
    url = state["url"] if state else settings.solr_url
    result = ClusterStatus(url=url, running=False)
    if state:
        result.zk_host = state.get("zk_host")
        result.java = state.get("java")
        zk_port = state["ports"][0]
        for f in node_files(settings):
            pid = f.read_pid()
            running = bool(pid and node.is_our_node(pid, f.port))
            result.nodes.append(
                NodeStatus(
                    port=f.port,
                    pid=pid,
                    running=running,
                    healthy=running and node.is_healthy(f.port),
                    zookeeper=f.port == zk_port,
                    log=str(f.solr_log),
                )
            )
    with SolrClient(settings, url) as client:
        try:
            cluster = client.collections_api("CLUSTERSTATUS").get("cluster", {})
            result.live_nodes = sorted(cluster.get("live_nodes", []))
            result.collections = {
                name: {
                    "shards": len(c.get("shards", {})),
                    "replicas": sum(len(s.get("replicas", {})) for s in c.get("shards", {}).values()),
                    "health": c.get("health"),
                    "configset": c.get("configName"),
                }
                for name, c in sorted(cluster.get("collections", {}).items())
            }
            result.aliases = cloud.list_aliases(client)
            result.configsets = cloud.list_configsets(client)
            result.running = bool(result.live_nodes)
        except LookalikeError as err:
            result.error = str(err)
    return result

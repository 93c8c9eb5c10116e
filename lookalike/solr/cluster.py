"""Start, stop and inspect a local SolrCloud of 1..N nodes built from the Maven runtime.

Node 1 listens on ``port`` and runs the embedded ZooKeeper on ``port + 1000``; node ``i``
listens on ``port + i - 1`` and joins that ZooKeeper. Before anything else, ``start`` makes
sure the data dir has Solr credentials (generated at the first start, mode 0600) and hands
the first nodes the matching ``security.json``, which their launchers write to ZooKeeper
before Solr starts: no request is ever served to a stranger. It then polls each node's health
(never a fixed sleep, as the admin), then uploads the ``products`` and ``lookalike_meta`` configsets.
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
from lookalike import credentials
from lookalike.settings import Settings
from lookalike.solr import cds, cloud, node, security
from lookalike.solr.java import find_jdk

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
SECURITY_FILE = "security.json"
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


def start(settings: Settings, nodes: int = 1, port: int = 8983, heap: str = "1g", *,
          zk_host: str | None = None, ensemble: bool | None = None) -> ClusterStatus:
    """Start ``nodes`` Solr nodes and upload our configsets.

    ZooKeeper: ``zk_host`` joins an external ensemble; otherwise it is embedded, in node 1 alone
    (one node, or ``ensemble=False``) or, from three nodes on (``ensemble`` None or True), as a
    three-server ensemble in nodes 1-3, which survives the loss of any one of them.

    Returns the cluster's status once every node is healthy and live in ZooKeeper. When this
    exact cluster is already running it is left alone. Anything started is stopped again if a
    later step fails, so a failed start leaves no JVM behind.
    """
    if not 1 <= nodes <= MAX_NODES:
        raise ConfigError(f"--nodes must be between 1 and {MAX_NODES}, got {nodes}")
    if not 1024 <= port <= 64535 - nodes:
        raise ConfigError(f"--port must be between 1024 and {64535 - nodes} (ZooKeeper uses port + 1000), got {port}")
    if ensemble and nodes < node.ENSEMBLE_SERVERS:
        raise ConfigError(f"a ZooKeeper ensemble needs --nodes {node.ENSEMBLE_SERVERS} or more, got {nodes}")
    if ensemble is None:
        ensemble = zk_host is None and nodes >= node.ENSEMBLE_SERVERS
    servers = node.ENSEMBLE_SERVERS if ensemble else (0 if zk_host else 1)
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
    zk_bound = node.zk_ports(port, servers) if servers else []
    for p in [*ports, *zk_bound]:
        if node.port_in_use(p):
            what = "ZooKeeper's port" if p in zk_bound else "port"
            raise ConfigError(f"{what} {p} is already in use: choose another with --port")

    settings.solr_dir.mkdir(parents=True, exist_ok=True)
    # Solr is locked before it starts: the first nodes' launchers write security.json to
    # ZooKeeper (whoever is first; the others find it there) before their Solr reads it.
    creds = credentials.ensure_file(settings)
    security_file = security.write_security_json(creds, settings.solr_dir / SECURITY_FILE)
    admin = creds["admin"].as_auth()
    if zk_host is None:
        zk_host = ",".join(f"127.0.0.1:{c}" for c in node.zk_client_ports(port, servers))
    deadline = time.monotonic() + settings.solr_start_timeout_s
    procs = []
    t0 = time.monotonic()
    try:
        if servers == 1:  # node 1 with ZooKeeper first, then the others join it
            first = [node.spawn(_command(settings, jdk, files[0], heap, None, security_json=security_file), files[0])]
        else:  # an ensemble needs a quorum of its servers up at once; an external one is there
            first = [node.spawn(_command(settings, jdk, f, heap, None if servers else zk_host,
                                         zk_ensemble=zk_host if servers else None, zk_id=i,
                                         security_json=security_file), f)
                     for i, f in enumerate(files[: max(servers, 1)])]
        procs.extend(first)
        for proc, f in zip(first, files):
            node.wait_healthy(proc, f, deadline, auth=admin)
        rest = [node.spawn(_command(settings, jdk, f, heap, zk_host), f) for f in files[len(first):]]
        procs.extend(rest)
        for proc, f in zip(rest, files[len(first):]):
            node.wait_healthy(proc, f, deadline, auth=admin)
        _write_state(settings, ports, zk_host, jdk.describe(), heap, zk_servers=servers)
        with SolrClient(settings, node.base_url(port), role="admin", failover=False) as client:
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


def restart_node(settings: Settings, port: int) -> ClusterStatus:
    """Stop node ``port`` of the running cloud (if it still runs) and start it again in the same
    role (its ZooKeeper server, if it has one); the others keep serving meanwhile."""
    state = _read_state(settings)
    if not state or port not in state.get("ports", []):
        known = ", ".join(map(str, (state or {}).get("ports", []))) or "none"
        raise ConfigError(f"no node of ours on port {port} (nodes: {known}); see `lookalike solr status`")
    files = node.NodeFiles(settings.solr_dir, port)
    pid = files.read_pid()
    if pid and node.is_our_node(pid, port):
        node.stop_pids([pid])
    _spawn_member(settings, state, files, state["ports"].index(port))
    return status(settings)


def add_node(settings: Settings) -> ClusterStatus:
    """Start one more node on the port after the last and join it to the running cloud."""
    state = _read_state(settings)
    if not state:
        raise ConfigError("no cloud of ours is running from this data dir: `lookalike solr start` first")
    ports = state["ports"]
    port = max(ports) + 1
    if len(ports) + 1 > MAX_NODES:
        raise ConfigError(f"the cloud has {len(ports)} nodes; at most {MAX_NODES}")
    if port in node.zk_ports(ports[0], int(state.get("zk_servers", 1))) or node.port_in_use(port):
        raise ConfigError(f"port {port} is in use (by ZooKeeper or another program)")
    files = node.NodeFiles(settings.solr_dir, port)
    _spawn_member(settings, state, files, len(ports))
    state["ports"] = [*ports, port]
    _state_path(settings).write_text(json.dumps(state, indent=2) + "\n")
    with SolrClient(settings, node.base_url(ports[0]), role="admin",
                    peers=[node.base_url(p) for p in state["ports"]]) as client:
        _wait_live_nodes(client, len(state["ports"]), time.monotonic() + settings.solr_start_timeout_s)
    return status(settings)


def _spawn_member(settings: Settings, state: dict[str, Any], files: node.NodeFiles, index: int) -> None:
    """Start node number ``index`` of the cloud in ``state`` (a ZooKeeper server if it is one)."""
    jdk = find_jdk(settings.java_home)
    servers = int(state.get("zk_servers", 1))
    heap = state.get("heap", settings.solr_heap)
    if servers > 1 and index < servers:
        cmd = _command(settings, jdk, files, heap, None, zk_ensemble=state["zk_host"], zk_id=index)
    elif servers == 1 and index == 0:
        cmd = _command(settings, jdk, files, heap, None)
    else:
        cmd = _command(settings, jdk, files, heap, state["zk_host"])
    proc = node.spawn(cmd, files)
    admin = credentials.credential(settings, "admin")
    try:
        node.wait_healthy(proc, files, time.monotonic() + settings.solr_start_timeout_s,
                          auth=admin.as_auth() if admin else None)
    except BaseException:
        node.stop_pids([proc.pid])
        files.pid_file.unlink(missing_ok=True)
        raise


def _command(settings: Settings, jdk, files: node.NodeFiles, heap: str, zk_host: str | None, *,
             zk_ensemble: str | None = None, zk_id: int | None = None,
             security_json: Path | None = None) -> list[str]:
    extra = [*cds.flags(settings.solr_runtime_dir, jdk, files.port),
             f"-Dlookalike.filterVectorsMB={settings.filter_vectors_mb}"]  # the products configset reads it
    return node.command(jdk, settings.solr_runtime_dir, files, heap=heap, zk_host=zk_host, extra_jvm_flags=extra,
                        zk_ensemble=zk_ensemble, zk_id=zk_id, security_json=security_json)


def _write_state(settings: Settings, ports: list[int], zk_host: str, java: str, heap: str, *,
                 zk_servers: int = 1) -> None:
    # zk_servers: embedded ZooKeeper servers in the first nodes (0: an external ensemble)
    state = {"ports": ports, "zk_host": zk_host, "zk_servers": zk_servers, "java": java, "heap": heap,
             "url": node.base_url(ports[0])}
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

    Nodes without ZooKeeper go first, together; the ZooKeeper node(s) last. Each gets SIGTERM
    (Solr closes its cores, ZooKeeper shuts down), then SIGKILL after a grace period.
    """
    state = _read_state(settings) or {}
    zk_nodes = _zk_node_ports(state)
    files = node_files(settings)
    alive = [(f, pid) for f in files if (pid := f.read_pid()) and node.is_our_node(pid, f.port)]
    followers = [pid for f, pid in alive if f.port not in zk_nodes]
    leader = [pid for f, pid in alive if f.port in zk_nodes]
    killed = node.stop_pids(followers) + node.stop_pids(leader)
    pids = dict(alive)
    for f in files:
        f.pid_file.unlink(missing_ok=True)
        cds.finish(settings.solr_runtime_dir, f.port, exited_cleanly=pids.get(f) not in killed)
    _state_path(settings).unlink(missing_ok=True)
    return sorted(f.port for f, _ in alive)


def _zk_node_ports(state: dict[str, Any]) -> set[int]:
    """The ports of the nodes that run embedded ZooKeeper (none for an external ensemble)."""
    ports = state.get("ports") or []
    return set(ports[: int(state.get("zk_servers", 1))])


def replica_states(cluster_state: dict[str, Any], name: str, *,
                   dead: set[str] = frozenset()) -> dict[str, list[tuple[str, str]]]:
    """Each shard's replicas as (node, state), the state as it is: a replica whose node is not
    live (or is one of ``dead``, nodes known not to run, which ZooKeeper may still list until
    their session expires) is ``down`` whatever ZooKeeper last recorded for it."""
    live = set(cluster_state.get("live_nodes", [])) - set(dead)
    coll = cluster_state.get("collections", {}).get(name, {})
    out: dict[str, list[tuple[str, str]]] = {}
    for shard, info in sorted(coll.get("shards", {}).items()):
        rows = []
        for r in info.get("replicas", {}).values():
            state = r.get("state", "unknown") if r.get("node_name") in live else "down"
            rows.append((r.get("node_name", "?"), state))
        out[shard] = sorted(rows)
    return out


def health(replicas: dict[str, list[tuple[str, str]]]) -> str:
    """GREEN: every replica active; YELLOW: every shard has an active one; RED: some shard has none."""
    if all(state == "active" for rows in replicas.values() for _, state in rows):
        return "GREEN"
    if all(any(state == "active" for _, state in rows) for rows in replicas.values()):
        return "YELLOW"
    return "RED"


def _vectors(client: SolrClient, collection: str) -> dict[str, Any] | None:
    """The ``vector`` field's width and quantization (none, int7, int4), or None without one."""
    layout = cloud.vector_layout(client, collection)
    return {"dims": layout[0], "quantization": layout[1]} if layout else None


def status(settings: Settings) -> ClusterStatus:
    """What runs: our nodes (from the data dir) and what Solr itself says about the cloud."""
    state = _read_state(settings)
    url = state["url"] if state else settings.solr_url
    result = ClusterStatus(url=url, running=False)
    admin_cred = credentials.credential(settings, "admin")
    admin_auth = admin_cred.as_auth() if admin_cred else None
    if state:
        result.zk_host = state.get("zk_host")
        result.java = state.get("java")
        zk_nodes = _zk_node_ports(state)
        for f in node_files(settings):
            pid = f.read_pid()
            running = bool(pid and node.is_our_node(pid, f.port))
            result.nodes.append(
                NodeStatus(
                    port=f.port,
                    pid=pid,
                    running=running,
                    healthy=running and node.is_healthy(f.port, auth=admin_auth),
                    zookeeper=f.port in zk_nodes,
                    log=str(f.solr_log),
                )
            )
    peers = [node.base_url(p) for p in (state or {}).get("ports", [])[1:]]
    with SolrClient(settings, url, role="admin", peers=peers) as client:  # answers while any node of ours lives
        try:
            cluster = client.collections_api("CLUSTERSTATUS").get("cluster", {})
            result.live_nodes = sorted(cluster.get("live_nodes", []))
            result.collections = {}
            dead = {f"127.0.0.1:{n.port}_solr" for n in result.nodes if not n.running}
            result.live_nodes = [n for n in result.live_nodes if n not in dead]
            for name, c in sorted(cluster.get("collections", {}).items()):
                replicas = replica_states(cluster, name, dead=dead)
                result.collections[name] = {
                    "shards": len(c.get("shards", {})),
                    "replicas": sum(len(rows) for rows in replicas.values()),
                    "health": health(replicas),
                    "configset": c.get("configName"),
                    "vectors": _vectors(client, name) if health(replicas) != "RED" else None,
                    "replica_states": {shard: [f"{n}: {st}" for n, st in rows] for shard, rows in replicas.items()},
                }
            result.aliases = cloud.list_aliases(client)
            result.configsets = cloud.list_configsets(client)
            result.running = bool(result.live_nodes)
        except LookalikeError as err:
            result.error = str(err)
    return result

"""``lookalike solr start|restart|add-node|stop|status``: run a local SolrCloud from the Maven-built runtime."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lookalike.settings import Settings
from lookalike.solr import cluster


def register(subparsers: argparse._SubParsersAction) -> None:
    solr = subparsers.add_parser("solr", help="start, stop or inspect the local Solr cloud")
    sub = solr.add_subparsers(dest="solr_command", metavar="ACTION", required=True)

    start = sub.add_parser(
        "start",
        help="start Solr (SolrCloud: ZooKeeper embedded in node 1, or in nodes 1-3 from --nodes 3 on)",
        description="Start a local SolrCloud. ZooKeeper: one server embedded in node 1 (port+1000) for "
        "one or two nodes, which the cluster cannot lose; from --nodes 3 on a three-server ensemble "
        "embedded in nodes 1-3 (ports +1000, +1003, +1006 and the two after each), which survives "
        "the loss of any one; or --zk-host to join your own ensemble.",
    )
    start.add_argument("--port", type=int, default=None, help="port of node 1 (default: the port of LOOKALIKE_SOLR_URL, 8983)")
    start.add_argument("--nodes", type=int, default=1, help="number of nodes, on consecutive ports (default 1)")
    start.add_argument("--heap", default=None, help="Java heap of each node (default: LOOKALIKE_SOLR_HEAP, 1g)")
    start.add_argument("--zk-host", default=None, metavar="HOST:PORT,...",
                       help="join this external ZooKeeper ensemble (optionally with a /chroot) instead of embedding one")
    zk = start.add_mutually_exclusive_group()
    zk.add_argument("--zk-ensemble", dest="ensemble", action="store_true", default=None,
                    help="embed a three-server ZooKeeper ensemble in nodes 1-3 (the default from --nodes 3 on)")
    zk.add_argument("--zk-single", dest="ensemble", action="store_false",
                    help="embed one ZooKeeper server in node 1 even with three or more nodes")
    start.set_defaults(func=cmd_start)

    restart = sub.add_parser("restart", help="restart one node of the running cloud (the others keep serving)")
    restart.add_argument("port", type=int, help="the node's port (see `lookalike solr status`)")
    restart.set_defaults(func=cmd_restart)

    add = sub.add_parser("add-node", help="start one more node on the next port and join it to the running cloud")
    add.set_defaults(func=cmd_add_node)

    stop = sub.add_parser("stop", help="stop every node started from this data dir")
    stop.set_defaults(func=cmd_stop)

    status = sub.add_parser("status", help="nodes, ZooKeeper, collections, aliases and configsets")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)

    sec = sub.add_parser(
        "security-json",
        help="write the security.json (and the healthcheck's env file) for a Solr we do not start, e.g. docker compose",
    )
    sec.add_argument("--out", type=Path, default=Path("var/solr/security.json"),
                     help="where to write it (default var/solr/security.json, what docker-compose.yml mounts)")
    sec.set_defaults(func=cmd_security_json)


def cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    port = args.port or settings.solr_port
    already = cluster.running_ports(settings)
    t0 = time.monotonic()
    st = cluster.start(settings, nodes=args.nodes, port=port, heap=args.heap or settings.solr_heap,
                       zk_host=args.zk_host, ensemble=args.ensemble)
    if already:
        print(f"Solr was already running: {st.url}")
    else:
        print(f"Solr is up in {time.monotonic() - t0:.1f} s: {st.url}")
    _print_status(st)
    return 0


def cmd_restart(args: argparse.Namespace, settings: Settings) -> int:
    t0 = time.monotonic()
    st = cluster.restart_node(settings, args.port)
    print(f"node {args.port} restarted in {time.monotonic() - t0:.1f} s")
    _print_status(st)
    return 0


def cmd_add_node(args: argparse.Namespace, settings: Settings) -> int:
    t0 = time.monotonic()
    st = cluster.add_node(settings)
    print(f"node {st.nodes[-1].port} joined in {time.monotonic() - t0:.1f} s "
          "(new collections and ADDREPLICA use it; existing replicas stay where they are)")
    _print_status(st)


def cmd_security_json(args: argparse.Namespace, settings: Settings) -> int:
    from lookalike import credentials
    from lookalike.solr import security

    creds = credentials.ensure_file(settings)
    path = security.write_security_json(creds, args.out)
    env = security.write_health_env(creds, args.out.parent / security.HEALTH_ENV_FILE)
    print(f"wrote {path} and {env} (mode 0600); the credentials are in {credentials.credentials_path(settings)}")
    return 0


def cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    ports = cluster.stop(settings)
    print(f"stopped Solr on port(s) {', '.join(map(str, ports))}" if ports else "no Solr node of ours was running")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    st = cluster.status(settings)
    if args.json:
        json.dump(st.to_dict(), sys.stdout, indent=2)
        print()
    else:
        _print_status(st)
    return 0 if st.running else 1


def _print_status(st: cluster.ClusterStatus) -> None:
    print(f"Solr:        {st.url} ({'running' if st.running else 'not running'})")
    if st.error and not st.running:
        print(f"             {st.error}")
    if st.java:
        print(f"Java:        {st.java}")
    if st.zk_host:
        embedded = [n.port for n in st.nodes if n.zookeeper]
        where = ("external" if not embedded else "embedded in node 1, which the cluster cannot lose"
                 if len(embedded) == 1 else f"an ensemble embedded in nodes on {', '.join(map(str, embedded))}")
        print(f"ZooKeeper:   {st.zk_host} ({where})")
    for n in st.nodes:
        state = "healthy" if n.healthy else ("running, not healthy" if n.running else "not running")
        zk = " + ZooKeeper" if n.zookeeper else ""
        print(f"  node {n.port}{zk}: {state}, pid {n.pid}, log {n.log}")
    if not st.running:
        return
    print(f"Live nodes:  {', '.join(st.live_nodes) or '-'}")
    print(f"Configsets:  {', '.join(st.configsets) or '-'}")
    if st.collections:
        print("Collections:")
        for name, c in st.collections.items():
            vectors = c.get("vectors")
            print(f"  {name}: {c['shards']} shard(s), {c['replicas']} replica(s), {c['health']}, configset {c['configset']}"
                  + (f", vectors {vectors['dims']}-d {vectors['quantization']}" if vectors else ""))
            if c["health"] != "GREEN" or c["replicas"] > c["shards"]:
                for shard, rows in c.get("replica_states", {}).items():
                    print(f"    {shard}: {'; '.join(rows)}")
    else:
        print("Collections: -")
    print(f"Aliases:     {', '.join(f'{a} -> {t}' for a, t in st.aliases.items()) or '-'}")

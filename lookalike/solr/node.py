"""One Solr node as an operating-system process: its files, its command line, start and stop.

Every node is its own JVM (``io.lookalike.solr.launcher.SolrLauncher`` from the runtime that
``make solr`` builds), started in its own process group so that stopping it takes every
child with it. A node's files live under ``<data_dir>/solr/node-<port>/``: ``home/`` (the solr
home: solr.xml, zoo.cfg, cores, and for node 1 ZooKeeper's data) and ``logs/`` (``solr.log``,
plus ``console.log`` with what the JVM printed). Its pid is in ``<data_dir>/solr/node-<port>.pid``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import requests

from lookalike.errors import ConfigError, SolrNodeError
from lookalike.solr.java import Jdk

log = logging.getLogger(__name__)

LAUNCHER_CLASS = "io.lookalike.solr.launcher.SolrLauncher"
ZK_PORT_OFFSET = 1000
ENSEMBLE_SERVERS = 3  # an embedded ensemble: ZooKeeper in nodes 1-3; a larger cloud joins it
# each embedded ensemble server uses client port P, P + 1 (quorum) and P + 2 (leader election)
ZK_SERVER_PORTS = 3


def zk_client_ports(port: int, servers: int) -> list[int]:
    """The client ports of ZooKeeper on node 1's ``port``: one server at port + 1000, or an
    ensemble of ``servers`` at port + 1000, + 1003, + 1006 ..."""
    return [port + ZK_PORT_OFFSET + ZK_SERVER_PORTS * i for i in range(servers)]


def zk_ports(port: int, servers: int) -> list[int]:
    """Every port embedded ZooKeeper binds (client ports; for an ensemble also its peer ports)."""
    if servers <= 1:
        return [port + ZK_PORT_OFFSET]
    return [c + k for c in zk_client_ports(port, servers) for k in range(ZK_SERVER_PORTS)]
LOG_TAIL_LINES = 25
EXIT_PORT_IN_USE = 3  # the launcher's exit code when Jetty cannot bind


@dataclass(frozen=True)
class NodeFiles:
    """Where one node keeps its things."""

    solr_dir: Path
    port: int

    @property
    def root(self) -> Path:
        return self.solr_dir / f"node-{self.port}"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def solr_log(self) -> Path:
        return self.log_dir / "solr.log"

    @property
    def console_log(self) -> Path:
        return self.log_dir / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.solr_dir / f"node-{self.port}.pid"

    def read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/solr"


def check_runtime(runtime_dir: Path) -> list[Path]:
    """The runtime's jars; :class:`ConfigError` naming ``make solr`` when it is not built."""
    lib = runtime_dir / "lib"
    launcher = sorted(lib.glob("lookalike-solr-launcher-*.jar")) if lib.is_dir() else []
    if not launcher or not (runtime_dir / "etc" / "log4j2.xml").is_file():
        raise ConfigError(f"the Solr runtime is not built ({runtime_dir} is missing): run `make solr` to build it")
    return sorted(lib.glob("*.jar"))


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something listens on ``port`` or the port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Jetty binds with SO_REUSEADDR too, so sockets in TIME_WAIT do not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def command(
    jdk: Jdk,
    runtime_dir: Path,
    files: NodeFiles,
    *,
    heap: str,
    zk_host: str | None,
    extra_jvm_flags: list[str] | None = None,
    zk_ensemble: str | None = None,
    zk_id: int | None = None,
    security_json: Path | None = None,
) -> list[str]:
    """The command line of one node; ``zk_host`` None means: run the embedded ZooKeeper (server
    ``zk_id`` of ``zk_ensemble`` when given). ``security_json`` (one node only) is written to
    ZooKeeper by that node's launcher before its Solr starts."""
    cmd = [
        str(jdk.java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Xss256k",
        "-Duser.timezone=UTC",
        "-Dfile.encoding=UTF-8",
        f"-Dsolr.log.dir={files.log_dir}",
        f"-Dlog4j.configurationFile={runtime_dir / 'etc' / 'log4j2.xml'}",
        "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
        *jdk.vector_flags(),
        *(extra_jvm_flags or []),
        "-cp",
        str(runtime_dir / "lib" / "*"),
        LAUNCHER_CLASS,
        "--port",
        str(files.port),
        "--home",
        str(files.home),
        "--host",
        "127.0.0.1",
    ]
    if zk_ensemble is not None:
        cmd += ["--zk-ensemble", zk_ensemble, "--zk-id", str(zk_id)]
    else:
        cmd += ["--zk-host", zk_host] if zk_host else ["--zk-run"]
    if security_json is not None:
        cmd += ["--security-json", str(security_json)]
    return cmd


def spawn(cmd: list[str], files: NodeFiles) -> subprocess.Popen:
    """Start the JVM in its own session (and so its own process group) and record its pid."""
    files.log_dir.mkdir(parents=True, exist_ok=True)
    files.home.mkdir(parents=True, exist_ok=True)
    with open(files.console_log, "wb") as console:  # this start's output only
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            cwd=files.root,
            start_new_session=True,
            close_fds=True,
        )
    files.pid_file.write_text(f"{proc.pid}\n")
    log.info("started Solr node on port %d (pid %d)", files.port, proc.pid)
    return proc


def is_our_node(pid: int, port: int) -> bool:
    """True when ``pid`` is alive and is our launcher serving ``port`` (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [a.decode(errors="replace") for a in cmdline]
    if LAUNCHER_CLASS not in args:
        return False
    try:
        return args[args.index("--port") + 1] == str(port)
    except (ValueError, IndexError):
        return False


def is_healthy(port: int, timeout_s: float = 2.0, auth: tuple[str, str] | None = None) -> bool:
    """The node answers its health check (connected to ZooKeeper, registered as live)."""
    try:
        resp = requests.get(
            f"{base_url(port)}/admin/info/health", params={"wt": "json"}, timeout=timeout_s, auth=auth
        )
    except requests.RequestException:
        return False
    return resp.status_code == 200 and resp.json().get("status") == "OK"


def log_tail(files: NodeFiles, lines: int = LOG_TAIL_LINES) -> tuple[Path, str]:
    """The last lines of the node's log: solr.log if Solr wrote it since this start (the pid
    file's time), else console.log (the JVM failed before Solr could log: a bad flag...).

    Java stack frames are left out, so the messages and their "Caused by" lines fit.
    """
    try:
        started_ns = files.pid_file.stat().st_mtime_ns
    except OSError:
        started_ns = 0
    for path in (files.solr_log, files.console_log):
        if path.is_file() and path.stat().st_size > 0:
            if path == files.solr_log and path.stat().st_mtime_ns < started_ns:
                continue  # an earlier run's log
            with open(path, errors="replace") as fh:
                kept = deque((ln for ln in fh if not _STACK_FRAME.match(ln)), maxlen=lines)
            return path, "".join(kept).rstrip()
    return files.console_log, "(the log is empty)"


_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ (more|common frames))")


def failure(files: NodeFiles, reason: str) -> SolrNodeError:
    path, tail = log_tail(files)
    return SolrNodeError(f"{reason}; last lines of {path}:\n{tail}\n(full log: {path})")


def wait_healthy(
    proc: subprocess.Popen,
    files: NodeFiles,
    deadline: float,
    poll_s: float = 0.25,
    auth: tuple[str, str] | None = None,
) -> None:
    """Poll the node until it is healthy; raise with its log when it exits or time runs out."""
    while True:
        code = proc.poll()
        if code is not None:
            if code == EXIT_PORT_IN_USE:
                raise SolrNodeError(f"port {files.port} is already in use: choose another with --port")
            raise failure(files, f"Solr node on port {files.port} exited with code {code} while starting")
        if is_healthy(files.port, auth=auth):
            return
        if time.monotonic() > deadline:
            raise failure(files, f"Solr node on port {files.port} did not become healthy in time")
        time.sleep(poll_s)


def signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the node leads its own process group (start_new_session)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie that is not our child counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pids(pids: list[int], *, grace_s: float = 60.0, poll_s: float = 0.1) -> list[int]:
    """SIGTERM each process group, wait for all, SIGKILL what is left after ``grace_s``.

    Returns the pids that had to be killed.
    """
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(poll_s)
        left = [p for p in left if _alive(p)]
    killed = list(left)
    for pid in left:
        log.warning("Solr process %d ignored SIGTERM for %.0f s: killing it", pid, grace_s)
        signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        time.sleep(poll_s)
        left = [p for p in left if _alive(p)]
    if left:
        raise SolrNodeError(f"Solr processes {left} did not exit even after SIGKILL")
    return killed


def free_base_port(nodes: int = 1, *, low: int = 20000, high: int = 31000, attempts: int = 200) -> int:
    """A port ``p`` such that ``p .. p+nodes-1`` and ZooKeeper's ports (:func:`zk_ports`) are free.

    The range stays below Linux's ephemeral ports (32768 and up by default, where the kernel
    picks the local port of every outgoing connection): a port checked free there could be
    taken by some client connection before the node or its ZooKeeper binds it.
    """
    import random

    rng = random.Random()
    for _ in range(attempts):
        p = rng.randrange(low, high - nodes)
        servers = ENSEMBLE_SERVERS if nodes >= ENSEMBLE_SERVERS else 1
        if not any(port_in_use(q) for q in [*range(p, p + nodes), *zk_ports(p, servers)]):
            return p
    raise SolrNodeError(f"found no {nodes} free consecutive port(s) between {low} and {high}")

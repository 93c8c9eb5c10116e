"""The Solr connection: a small JSON-over-HTTP client with one place that maps errors.

Every request to Solr goes through :meth:`SolrClient.request`, which turns transport
failures into :class:`SolrUnavailable` and Solr's error answers into
:class:`SolrRequestError` carrying Solr's own message.

Every request also carries ``expandMacros=false``. Solr expands ``${name}`` in every
parameter value before any parser sees it, quoted or escaped, so a user value such as a
filter of ``${text}`` would otherwise be replaced by another parameter's text (a filter
that chooses its own clauses). The configsets enforce the same as an invariant of their
search handlers (``solr/configsets/*/solrconfig.xml``); this is the client's half, which
also covers handlers the configsets do not define.

**Failover.** The client starts at ``settings.solr_url`` and learns the cluster's other live
nodes from Solr itself (``/api/cluster/nodes``, re-read at most every ``NODES_TTL_S`` seconds
while things work). When the node it talks to cannot be reached, it marks it down for a few
seconds and sends the request to the next live node, so one dead node costs no failed request
while another node serves. Answers that mean "the cluster cannot serve this right now"
(ZooKeeper lost, no live replica of a shard) are :class:`SolrUnavailable` (503), never a 400.

Every client speaks as one role (``admin``, ``indexer`` or ``search``, see
:mod:`lookalike.credentials`) and sends that role's credential with every request; the
default is ``search``, the one that cannot change anything.

**Transport.** One :class:`urllib3.PoolManager` per client, shared by every thread (the API's
thread pool): keep-alive connections, ``TCP_NODELAY``, no retries (failover decides), and
nothing per request that can be done once (the ``Authorization`` header is built once). It
replaced a ``requests.Session``, whose per-request work (proxy lookups in the environment,
cookie and hook handling, header merging) cost about 1.4 ms of each Solr request on this loaded
2-core machine, interleaved with the same requests sent through urllib3 (load average 13).
Proxy variables (``HTTP_PROXY``) are not read: Solr is reached directly.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from typing import Any, Iterable
from urllib.parse import urlencode, urlsplit

import orjson
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError, SSLError

from lookalike.credentials import Role, credential
from lookalike.errors import BadRequest, SolrRequestError, SolrUnavailable
from lookalike.settings import Settings

log = logging.getLogger(__name__)

# Sent in the URL of every request, so it applies whether the other parameters travel in the
# URL or in a form body (Solr merges both).
NO_MACROS = "expandMacros=false"
POOL_SIZE = 64  # keep-alive connections kept per Solr node
NODES_TTL_S = 30.0  # how often the live nodes are re-read (only while requests succeed)
DOWN_S = 5.0  # how long a node that could not be reached is skipped
# Solr's words for a cluster that cannot serve right now (ZooKeeper gone, a shard without a live
# replica, a node shutting down): the caller should retry later, it did nothing wrong.
_UNAVAILABLE = re.compile(
    r"Could not load collection from ZK|Session expired|no servers hosting shard|"
    r"ZooKeeper|KeeperErrorCode|No active replicas|is shutting down|Cannot talk to ZooKeeper|"
    r"No registered leader|not currently active|Could not find a healthy node",
    re.IGNORECASE,
)


def node_url(node_name: str, like: str) -> str:
    """``127.0.0.1:8984_solr`` (a live node's name) -> ``http://127.0.0.1:8984/solr``, in the
    scheme of ``like`` (the configured URL)."""
    host, _, context = node_name.partition("_")
    scheme = urlsplit(like).scheme or "http"
    return f"{scheme}://{host}/{context.replace('%2F', '/') or 'solr'}"


def _solr_message(resp: urllib3.BaseHTTPResponse) -> str:
    reason = resp.reason or f"HTTP {resp.status}"
    try:
        body = orjson.loads(resp.data)
    except orjson.JSONDecodeError:
        text = resp.data.decode("utf-8", "replace").strip().splitlines()
        return text[0][:300] if text else reason
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("msg") or err.get("trace", "").split("\n")[0] or reason)
    if isinstance(body, dict) and body.get("failure"):
        return json.dumps(body["failure"])[:500]
    return reason


def _answer(resp: urllib3.BaseHTTPResponse, method: str, path: str) -> dict[str, Any]:
    if resp.status >= 400:
        message = _solr_message(resp)
        if resp.status in (502, 503, 504) or _UNAVAILABLE.search(message):
            raise SolrUnavailable(f"Solr cannot serve {path.split('/')[0]} right now: {message}")
        raise SolrRequestError(
            f"Solr answered {resp.status} to {method} /{path.lstrip('/')}: {message}",
            solr_status=resp.status,
        )
    try:
        return orjson.loads(resp.data)
    except orjson.JSONDecodeError as err:
        raise SolrRequestError(f"Solr answered {path} with something that is not JSON") from err


def encode_params(params: dict[str, Any] | list[tuple[str, Any]] | None) -> str:
    """A query string as ``requests`` builds one: a list or tuple value repeats its key, ``None``
    is left out. A lone UTF-16 surrogate raises :class:`UnicodeEncodeError`."""
    if not params:
        return ""
    pairs = []
    for key, value in params.items() if isinstance(params, dict) else params:
        for v in value if isinstance(value, (list, tuple)) else (value,):
            if v is not None:
                pairs.append((key, v))
    return urlencode(pairs)


def _pool_manager() -> urllib3.PoolManager:
    """Keep-alive connections for every thread that may talk to Solr at once (the API's thread
    pool), per node; Solr's certificates are checked against certifi's bundle where installed
    (as ``requests`` did), else the system's."""
    tls: dict[str, Any] = {}
    try:
        import certifi

        tls["ca_certs"] = certifi.where()
    except ImportError:  # pragma: no cover - certifi comes with most Python installs
        pass
    return urllib3.PoolManager(num_pools=8, maxsize=POOL_SIZE, block=False, retries=False, **tls)


class SolrClient:
    """Talks to one Solr base URL (``http://host:port/solr``) as one role."""

    def __init__(self, settings: Settings, base_url: str | None = None, *, role: Role = "search",
                 failover: bool = True, peers: list[str] | None = None):
        self.settings = settings
        self.base_url = (base_url or settings.solr_url).rstrip("/")
        self.timeout_s = settings.solr_timeout_s
        self.role: Role = role
        self._http = _pool_manager()
        # a client pinned to one node (a core's own address, a node's health) never fails over
        self._failover = failover
        self._lock = threading.Lock()
        # other nodes known up front (e.g. from the launcher's state); the live ones are learned
        self._nodes: list[str] = [self.base_url] + [u.rstrip("/") for u in peers or [] if u.rstrip("/") != self.base_url]
        self._nodes_read_at = 0.0
        self._down: dict[str, float] = {}
        cred = credential(settings, role)
        self._headers: dict[str, str] = {}
        if cred is not None:
            user, password = cred.as_auth()
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def at(self, base_url: str) -> "SolrClient":
        """A client pinned to another node of the same cluster (no failover), as the same role."""
        return SolrClient(self.settings, base_url, role=self.role, failover=False)

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> "SolrClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one place that does I/O -------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        try:
            query = encode_params(params if isinstance(params, dict) or params is None else list(params))
            if isinstance(data, str):
                data = data.encode("utf-8")
        except UnicodeEncodeError as err:  # a lone UTF-16 surrogate (JSON's "\ud800") cannot become UTF-8
            raise BadRequest(f"the request holds text that is not valid Unicode ({err.object[err.start:err.end]!r}): "
                             "send UTF-8 text without lone surrogates") from err
        send_headers = {**self._headers, **(headers or {})}
        if json_body is not None:  # as requests sent it: ASCII JSON (a lone surrogate stays an escape)
            data = json.dumps(json_body, allow_nan=False).encode()
            send_headers.setdefault("Content-Type", "application/json")
        suffix = f"?{NO_MACROS}" + (f"&{query}" if query else "")
        timeout = urllib3.Timeout(connect=timeout_s or self.timeout_s, read=timeout_s or self.timeout_s)
        tried: list[str] = []
        last: Exception | None = None
        for url in self._candidates():
            try:
                resp = self._http.request(method, f"{url}/{path.lstrip('/')}{suffix}", body=data,
                                          headers=send_headers, timeout=timeout, retries=False,
                                          redirect=False)
            except (NewConnectionError, ConnectTimeoutError, ProtocolError, SSLError) as err:  # not reached, or dropped
                tried.append(url)
                last = err
                self._mark_down(url, err)
                continue
            except HTTPError as err:  # a read timeout: the node is there but slow
                raise SolrUnavailable(f"Solr is not reachable at {url}: {err.__class__.__name__}") from err
            self._maybe_refresh_nodes(url)
            return _answer(resp, method, path)
        where = self.base_url if len(tried) <= 1 else f"{self.base_url} or any of {len(tried) - 1} other live nodes"
        raise SolrUnavailable(f"Solr is not reachable at {where}: {last.__class__.__name__}") from last

    def _candidates(self) -> list[str]:
        """The configured node first, then the other live nodes; nodes marked down go last."""
        if not self._failover:
            return [self.base_url]
        now = time.monotonic()
        with self._lock:
            nodes = list(self._nodes)
            down = {u for u, until in self._down.items() if until > now}
        return [u for u in nodes if u not in down] + [u for u in nodes if u in down]

    def _mark_down(self, url: str, err: Exception) -> None:
        log.warning("Solr node %s is not reachable (%s); trying another live node", url, err.__class__.__name__)
        with self._lock:
            self._down[url] = time.monotonic() + DOWN_S

    def _maybe_refresh_nodes(self, url: str) -> None:
        if not self._failover or time.monotonic() - self._nodes_read_at < NODES_TTL_S:
            return
        self._nodes_read_at = time.monotonic()  # at most one reader per period, even if it fails
        try:
            resp = self._http.request("GET", f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/api/cluster/nodes",
                                      headers=self._headers, timeout=min(5.0, self.timeout_s),
                                      retries=False, redirect=False)
            names = orjson.loads(resp.data).get("nodes", []) if resp.status < 400 else []
        except (HTTPError, ValueError, AttributeError):
            return
        live = [node_url(n, self.base_url) for n in names]
        with self._lock:
            self._nodes = [self.base_url] + sorted(u for u in live if u != self.base_url)

    def live_nodes(self) -> list[str]:
        """The nodes this client would use, the configured one first (refreshed now)."""
        self._nodes_read_at = 0.0
        self._maybe_refresh_nodes(self._candidates()[0])
        with self._lock:
            return list(self._nodes)

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.request("GET", path, params=_with_json(params), **kw)

    def post(self, path: str, params: dict[str, Any] | None = None, json_body: Any = None, **kw: Any) -> dict[str, Any]:
        return self.request("POST", path, params=_with_json(params), json_body=json_body, **kw)

    # -- conveniences ----------------------------------------------------------------
    def select(self, collection: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a search; params travel in the POST body so long vectors fit."""
        return self.request(
            "POST",
            f"{collection}/select",
            data=urlencode(_with_json(params), doseq=True).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def add(self, collection: str, docs: list[dict[str, Any]], *, commit: bool = False) -> dict[str, Any]:
        params = {"commit": "true"} if commit else None
        return self.post(f"{collection}/update", params=params, json_body=docs)

    def commit(self, collection: str) -> dict[str, Any]:
        return self.post(f"{collection}/update", params={"commit": "true"}, json_body={})

    def collections_api(self, action: str, **params: Any) -> dict[str, Any]:
        return self.get("admin/collections", {"action": action, **params})

    def ping(self) -> bool:
        try:
            self.get("admin/info/system", timeout_s=5)
            return True
        except (SolrUnavailable, SolrRequestError):
            return False


def _with_json(params: dict[str, Any] | None) -> dict[str, Any]:
    out = {"wt": "json"}
    if params:
        out.update({k: v for k, v in params.items() if v is not None})
    return out

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
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable

import requests

from lookalike.errors import SolrRequestError, SolrUnavailable
from lookalike.settings import Settings

log = logging.getLogger(__name__)

# Sent in the URL of every request, so it applies whether the other parameters travel in the
# URL or in a form body (Solr merges both).
NO_MACROS = "expandMacros=false"


def _solr_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip().splitlines()
        return text[0][:300] if text else resp.reason
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("msg") or err.get("trace", "").split("\n")[0] or resp.reason)
    if isinstance(body, dict) and body.get("failure"):
        return json.dumps(body["failure"])[:500]
    return resp.reason


class SolrClient:
    """Talks to one Solr base URL (``http://host:port/solr``)."""

    def __init__(self, settings: Settings, base_url: str | None = None):
        self.settings = settings
        self.base_url = (base_url or settings.solr_url).rstrip("/")
        self.timeout_s = settings.solr_timeout_s
        self._http = requests.Session()

    def close(self) -> None:
        self._http.close()

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
        url = f"{self.base_url}/{path.lstrip('/')}?{NO_MACROS}"
        try:
            resp = self._http.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=timeout_s or self.timeout_s,
            )
        except requests.exceptions.RequestException as err:
            raise SolrUnavailable(f"Solr is not reachable at {self.base_url}: {err.__class__.__name__}") from err
        if resp.status_code >= 400:
            raise SolrRequestError(
                f"Solr answered {resp.status_code} to {method} /{path.lstrip('/')}: {_solr_message(resp)}",
                solr_status=resp.status_code,
            )
        try:
            return resp.json()
        except ValueError as err:
            raise SolrRequestError(f"Solr answered {path} with something that is not JSON") from err

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
            data=requests.models.RequestEncodingMixin._encode_params(_with_json(params)).encode(),
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

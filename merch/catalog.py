"""Reading products and vectors from a product collection, and writing atomic updates.

Everything goes through :class:`lookalike.connection.SolrClient`; user values in queries go
through :func:`lookalike.solr_syntax.quote` (via :func:`lookalike.solr_syntax.any_of`).
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound
from lookalike.fields import ROUTE_FIELD, VECTOR_FIELD, route_key
from lookalike.solr import cloud

log = logging.getLogger(__name__)

PAGE_ROWS = 1000
GET_CHUNK = 200
UPDATE_CHUNK = 500


def iter_docs(client: SolrClient, collection: str, *, fl: str, fq: list[str] | None = None,
              q: str = "*:*", rows: int = PAGE_ROWS, extra: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every matching document, paged with ``cursorMark`` (sorted by id, safe on any size).

    ``extra`` carries parameters the query refers to (``$like`` ...).
    """
    cursor = "*"
    while True:
        resp = client.select(collection, {**(extra or {}), "q": q, "fq": fq or None, "fl": fl, "rows": rows,
                                          "sort": "id asc", "cursorMark": cursor})
        yield from resp["response"]["docs"]
        nxt = resp.get("nextCursorMark")
        if not nxt or nxt == cursor:
            return
        cursor = nxt


def read_vectors(client: SolrClient, collection: str, *, fq: list[str] | None = None,
                 extra_fl: Iterable[str] = ()) -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    """Ids, their vectors as one float32 matrix, and the documents (with ``extra_fl``).

    Products without a vector are left out (they cannot be clustered or compared).
    """
    fl = ",".join(["id", VECTOR_FIELD, *extra_fl])
    ids, rows, docs = [], [], []
    for doc in iter_docs(client, collection, fl=fl, fq=fq):
        vec = doc.pop(VECTOR_FIELD, None)
        if not vec:
            continue
        ids.append(doc["id"])
        rows.append(vec)
        docs.append(doc)
    matrix = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), np.float32)
    return ids, matrix, docs


def get_docs(client: SolrClient, collection: str, ids: list[str], *, fl: str = "*") -> dict[str, dict[str, Any]]:
    """Documents by id through real-time get (sees uncommitted updates); missing ids are absent."""
    out: dict[str, dict[str, Any]] = {}
    shards = cloud.shard_names(client, collection) if ids else []
    for i in range(0, len(ids), GET_CHUNK):
        out.update(cloud.real_time_get(client, collection, ids[i : i + GET_CHUNK], fl=fl, shards=shards))
    return out


def example_vectors(client: SolrClient, collection: str, ids: list[str], *,
                    extra_fl: Iterable[str] = ()) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The stored vectors of example products, in the order given, and their documents (with
    ``model``, ``pca_version`` and ``extra_fl``); unknown ids are a 404."""
    if any("," in i for i in ids):
        raise BadRequest("a product id used as an example cannot contain a comma")
    fl = ",".join(["id", VECTOR_FIELD, "model", "pca_version", *extra_fl])
    docs = get_docs(client, collection, list(dict.fromkeys(ids)), fl=fl)
    missing = [i for i in ids if i not in docs]
    if missing:
        raise NotFound(f"no product with id {', '.join(missing)} in {collection}")
    novec = [i for i in ids if not docs[i].get(VECTOR_FIELD)]
    if novec:
        raise BadRequest(f"product {', '.join(novec)} has no vector: it cannot be used as an example")
    return np.asarray([docs[i][VECTOR_FIELD] for i in ids], dtype=np.float32), [docs[i] for i in ids]


def write_updates(client: SolrClient, collection: str, updates: list[dict[str, Any]], *, commit: bool = True) -> int:
    """Send atomic updates in chunks; commit at the end so readers see all of them at once.

    Each update names its product's ``_route_key`` (from its group, read here by id), which the
    collection routes by: a partial update must reach the shard its product lives on
    (lookalike/solr/cloud.py). An update of an id that no longer exists is dropped, as Solr would
    otherwise create a product of the partial document alone.
    """
    shards = cloud.shard_names(client, collection) if updates else []
    sent = 0
    for i in range(0, len(updates), UPDATE_CHUNK):
        chunk = updates[i : i + UPDATE_CHUNK]
        docs = cloud.real_time_get(client, collection, [u["id"] for u in chunk], fl="id,group", shards=shards)
        chunk = [{**u, ROUTE_FIELD: route_key(docs[u["id"]])} for u in chunk if u["id"] in docs]
        if chunk:
            client.post(f"{collection}/update", json_body=chunk)
        sent += len(chunk)
    if commit:
        client.commit(collection)
    return sent


def count(client: SolrClient, collection: str, *, q: str = "*:*", fq: list[str] | None = None) -> int:
    resp = client.select(collection, {"q": q, "fq": fq or None, "rows": 0})
    return int(resp["response"]["numFound"])

"""SolrCloud administration used by everyone: configsets, collections, aliases.

Each product collection has its own vector width (the PCA width chosen at index time), and
collections that share a configset in ZooKeeper share its schema. So
:func:`create_collection` first copies the base configset (``products``) to a configset named
after the collection (Configsets API ``CREATE`` with ``baseConfigSet``), creates the
collection on it, then adds the ``knn_vector_<dims>`` field type and the ``vector`` field
through the Schema API. :func:`delete_collection` removes both again.
With ``quantization`` int7/int4 every image field gets the plugin's quantized type instead
(:func:`vector_field_type`).

**Routing.** A product collection routes documents by ``_route_key`` (``router.field``), which
the configset's update chain sets to the product's ``group`` (or its id): a design's variants
share a shard, so ``{!collapse field=group}`` is right on any number of shards. Solr then cannot
find a shard from an id alone, so every lookup by id goes through :func:`real_time_get`, which
names every shard; delete-by-id Solr itself sends to every shard.

All functions take a :class:`SolrClient` and raise the project's errors (``NotFound`` for a
missing collection, ``BadRequest`` for an unusable name or width, ``SolrRequestError`` with
Solr's own message otherwise).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, NotFound, SolrRequestError
from lookalike.fields import (MAX_IMAGES_PER_PRODUCT, MAX_VECTOR_DIMS, ROUTE_FIELD, VECTOR_FIELD,
                             check_quantization, image_vector_field, image_vector_fields)
from lookalike.settings import REPO_ROOT

log = logging.getLogger(__name__)

CONFIGSETS_DIR = REPO_ROOT / "solr" / "configsets"
PRODUCTS_CONFIGSET = "products"
META_CONFIGSET = "lookalike_meta"
BASE_CONFIGSETS = (PRODUCTS_CONFIGSET, META_CONFIGSET)
MAX_DIMS = MAX_VECTOR_DIMS
SIMILARITY = "dot_product"  # on L2-normalised vectors: cosine similarity
HNSW_MAX_CONNECTIONS = 16
HNSW_BEAM_WIDTH = 100
QUANTIZED_VECTOR_CLASS = "io.lookalike.solr.QuantizedDenseVectorField"  # solr/plugin
SCHEMA_UPDATE_TIMEOUT_S = 60  # the Schema API waits this long for every replica to apply a change
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # fullmatch: "$" would let a trailing newline in


def check_name(name: str, what: str = "collection") -> str:
    if not _NAME_RE.fullmatch(name or ""):
        raise BadRequest(
            f"{what} name {name!r} is not allowed: use letters, digits, '.', '_' and '-', not starting with '-' or '.'"
        )
    return name


def vector_field_type(dims: int, *, quantization: str = "none") -> dict[str, Any]:
    """The Schema API definition of the dense vector type of width ``dims``: float32 HNSW, or with
    ``quantization`` int7/int4 the plugin's ``QuantizedDenseVectorField``, which the configset's
    codec (``LookalikeCodecFactory``) writes in Lucene's scalar quantized HNSW format: the graph
    searches 1-byte (int7) or half-byte (int4) copies, and the float32 vectors stay in the index
    beside them (stored values, the exact plugin path and merges read those)."""
    check_quantization(quantization)
    if quantization == "int4" and dims % 2:
        raise BadRequest(f"int4 quantization packs two dimensions in a byte and needs an even width, got {dims}")
    field_type = {
        "name": f"knn_vector_{dims}",
        "class": "solr.DenseVectorField",
        "vectorDimension": dims,
        "similarityFunction": SIMILARITY,
        "knnAlgorithm": "hnsw",
        "hnswMaxConnections": HNSW_MAX_CONNECTIONS,
        "hnswBeamWidth": HNSW_BEAM_WIDTH,
    }
    if quantization != "none":
        field_type.update(name=f"knn_vector_{dims}_{quantization}", quantization=quantization,
                          **{"class": QUANTIZED_VECTOR_CLASS})
    return field_type


# -- configsets ----------------------------------------------------------------------
def zip_configset(directory: Path) -> bytes:
    """The configset directory as a zip, files at the zip's root (what the UPLOAD action wants)."""
    if not (directory / "solrconfig.xml").is_file():
        raise BadRequest(f"{directory} is not a configset: it has no solrconfig.xml")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(directory).as_posix())
    return buf.getvalue()


def upload_configset(client: SolrClient, name: str, directory: Path, *, overwrite: bool = True) -> None:
    """Upload a configset directory to ZooKeeper through the Configsets API."""
    check_name(name, "configset")
    client.request(
        "POST",
        "admin/configs",
        params={"action": "UPLOAD", "name": name, "overwrite": str(overwrite).lower(),
                "cleanup": "true", "wt": "json"},
        data=zip_configset(directory),
        headers={"Content-Type": "application/octet-stream"},
    )
    log.info("uploaded configset %s from %s", name, directory)


def upload_base_configsets(client: SolrClient, configsets_dir: Path = CONFIGSETS_DIR) -> None:
    """Upload (or refresh) ``products`` and ``lookalike_meta``."""
    for name in BASE_CONFIGSETS:
        upload_configset(client, name, configsets_dir / name)


def list_configsets(client: SolrClient) -> list[str]:
    return sorted(client.get("admin/configs", {"action": "LIST"}).get("configSets", []))


def delete_configset(client: SolrClient, name: str) -> None:
    client.get("admin/configs", {"action": "DELETE", "name": name})


def _ensure_configset(client: SolrClient, name: str) -> None:
    if name not in list_configsets(client):
        directory = CONFIGSETS_DIR / name
        if not directory.is_dir():
            raise NotFound(f"configset {name} is neither in ZooKeeper nor in {CONFIGSETS_DIR}")
        upload_configset(client, name, directory)


# -- collections ---------------------------------------------------------------------
def list_collections(client: SolrClient) -> list[str]:
    return sorted(client.collections_api("LIST").get("collections", []))


def create_collection(
    client: SolrClient,
    name: str,
    dims: int,
    shards: int = 1,
    replicas: int = 1,
    *,
    configset: str = PRODUCTS_CONFIGSET,
    image_fields: int = 1,
    quantization: str = "none",
) -> None:
    """Create collection ``name`` whose ``vector`` field holds ``dims``-wide vectors.

    The collection gets its own configset (a copy of ``configset`` named ``name``), so its
    schema, and its vector width, is its own. ``image_fields`` > 1 adds ``vector_1`` ...
    ``vector_<image_fields - 1>`` of the same type, for products with several images
    (lookalike/fields.py). ``quantization`` (none, int7, int4) chooses the vector type
    (:func:`vector_field_type`). On failure nothing is left behind.
    """
    check_name(name)
    check_quantization(quantization)
    if not 1 <= int(dims) <= MAX_DIMS:
        raise BadRequest(f"vector width must be between 1 and {MAX_DIMS}, got {dims}")
    if shards < 1 or replicas < 1:
        raise BadRequest(f"shards and replicas must be at least 1, got {shards} and {replicas}")
    if name in list_collections(client):
        raise BadRequest(f"collection {name} already exists")
    _ensure_configset(client, configset)
    if name in list_configsets(client):  # a leftover of an interrupted create
        delete_configset(client, name)
    client.get("admin/configs", {"action": "CREATE", "name": name, "baseConfigSet": configset,
                                 "configSetProp.immutable": "false"})
    try:
        routing = {"router.field": ROUTE_FIELD} if configset == PRODUCTS_CONFIGSET else {}
        client.collections_api(
            "CREATE",
            name=name,
            numShards=shards,
            replicationFactor=replicas,
            **{"collection.configName": name},
            **routing,
            waitForFinalState="true",
        )
        field_type = vector_field_type(int(dims), quantization=quantization)
        client.post(
            f"{name}/schema",
            {"updateTimeoutSecs": SCHEMA_UPDATE_TIMEOUT_S},
            json_body={
                "add-field-type": field_type,
                "add-field": [{"name": f, "type": field_type["name"], "indexed": True, "stored": True}
                              for f in image_vector_fields(image_fields)],
            },
        )
    except BaseException:
        _drop(client, name)
        raise
    log.info("created collection %s (%d-d vectors%s in %d field(s), %d shard(s) x %d replica(s))",
             name, dims, "" if quantization == "none" else f", HNSW on {quantization}", image_fields, shards, replicas)


META_MAX_REPLICAS = 3


def live_nodes(client: SolrClient) -> list[str]:
    """The names of the cluster's live nodes (``host:port_solr``)."""
    return sorted(client.collections_api("CLUSTERSTATUS").get("cluster", {}).get("live_nodes", []))


def meta_replicas(client: SolrClient, at_least: int = 1) -> int:
    """How many copies the metadata collection should have: one per live node, up to three
    (it is small and every photo search and index job reads it), never fewer than asked."""
    return max(at_least, min(META_MAX_REPLICAS, len(live_nodes(client))))


def create_meta_collection(client: SolrClient, name: str, *, configset: str = META_CONFIGSET,
                           replicas: int = 1) -> None:
    """Create the small metadata collection (one shard, ``replicas`` copies) on ``lookalike_meta``."""
    check_name(name)
    _ensure_configset(client, configset)
    client.collections_api(
        "CREATE", name=name, numShards=1, replicationFactor=replicas,
        **{"collection.configName": configset}, waitForFinalState="true",
    )


def ensure_replicas(client: SolrClient, name: str, replicas: int) -> int:
    """Add copies of each shard of ``name`` until it has ``replicas`` (on nodes without one);
    returns how many were added. Never removes any."""
    status = client.collections_api("CLUSTERSTATUS", collection=name)
    coll = status.get("cluster", {}).get("collections", {}).get(name)
    if coll is None:
        raise NotFound(f"collection {name!r} does not exist")
    added = 0
    for shard, info in coll.get("shards", {}).items():
        for _ in range(replicas - len(info.get("replicas", {}))):
            client.collections_api("ADDREPLICA", collection=name, shard=shard, waitForFinalState="true")
            added += 1
    if added:
        log.info("added %d copies of %s (now %d per shard)", added, name, replicas)
    return added


def _drop(client: SolrClient, name: str) -> None:
    for action in (lambda: client.collections_api("DELETE", name=name), lambda: delete_configset(client, name)):
        try:
            action()
        except SolrRequestError as err:
            log.debug("cleanup of %s: %s", name, err)


def delete_collection(client: SolrClient, name: str) -> None:
    """Delete a collection and its own configset (never a base configset)."""
    if name not in list_collections(client):
        raise NotFound(f"collection {name} does not exist")
    info = client.collections_api("CLUSTERSTATUS", collection=name)
    configset = info.get("cluster", {}).get("collections", {}).get(name, {}).get("configName")
    client.collections_api("DELETE", name=name)
    if configset == name and configset not in BASE_CONFIGSETS:
        delete_configset(client, configset)


def _vector_type(client: SolrClient, collection: str) -> dict[str, Any] | None:
    """The Schema API's field type of the collection's ``vector`` field, or None when it has none."""
    try:
        field = client.get(f"{collection}/schema/fields/{VECTOR_FIELD}").get("field", {})
        return client.get(f"{collection}/schema/fieldtypes/{field['type']}").get("fieldType", {})
    except SolrRequestError as err:
        if err.solr_status == 404:
            return None
        raise


def vector_layout(client: SolrClient, collection: str) -> tuple[int, str] | None:
    """(width, quantization: none, int7 or int4) of the ``vector`` field, or None without one."""
    ftype = _vector_type(client, collection) or {}
    if ftype.get("vectorDimension") is None:
        return None
    return int(ftype["vectorDimension"]), str(ftype.get("quantization", "none"))


def vector_dims(client: SolrClient, collection: str) -> int | None:
    """The width of the collection's ``vector`` field, or None when it has none."""
    layout = vector_layout(client, collection)
    return layout[0] if layout else None


def image_field_count(client: SolrClient, collection: str) -> int:
    """How many image positions the collection has vector fields for (``vector``, ``vector_1`` ...)."""
    names = {f["name"] for f in client.get(f"{collection}/schema/fields").get("fields", [])}
    count = 0
    while count < MAX_IMAGES_PER_PRODUCT and image_vector_field(count) in names:
        count += 1
    return count


# -- aliases ---------------------------------------------------------------------------
def list_aliases(client: SolrClient) -> dict[str, str]:
    return dict(sorted(client.collections_api("LISTALIASES").get("aliases", {}).items()))


def create_alias(client: SolrClient, alias: str, collection: str) -> None:
    """Point ``alias`` at ``collection`` (an existing alias is moved atomically)."""
    check_name(alias, "alias")
    client.collections_api("CREATEALIAS", name=alias, collections=collection)


def alias_target(client: SolrClient, alias: str) -> str | None:
    """The collection ``alias`` points at, or None when there is no such alias.

    Our aliases point at one collection; for one spanning several, the first is returned.
    """
    target = list_aliases(client).get(alias)
    return target.split(",")[0] if target else None


def delete_alias(client: SolrClient, alias: str) -> None:
    client.collections_api("DELETEALIAS", name=alias)


# -- lookups by id -------------------------------------------------------------------
def shard_names(client: SolrClient, name: str) -> list[str]:
    """The shard (slice) names of collection ``name``, or of the collections an alias names."""
    aliases = list_aliases(client)
    out: list[str] = []
    for collection in aliases.get(name, name).split(","):
        status = client.collections_api("CLUSTERSTATUS", collection=collection)
        coll = status.get("cluster", {}).get("collections", {}).get(collection)
        if coll is None:
            raise NotFound(f"collection {collection!r} does not exist")
        out += [s for s in coll.get("shards", {}) if s not in out]
    return out


def real_time_get(client: SolrClient, collection: str, ids: list[str] | tuple[str, ...], *, fl: str,
                  shards: list[str] | tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """Documents by id (uncommitted ones too), asked of every shard; missing ids are absent.

    ``shards`` are the collection's shard names (:func:`shard_names`, looked up when not given):
    with ``router.field`` Solr cannot tell an id's shard, and a real-time get that does not name
    the shards silently skips every id.
    """
    if not ids:
        return {}
    names = list(shards) if shards is not None else shard_names(client, collection)
    resp = client.get(f"{collection}/get", {"id": list(ids), "fl": fl, "shards": ",".join(names)})
    if "response" in resp:
        docs = resp["response"].get("docs", [])
    else:
        docs = [resp["doc"]] if resp.get("doc") else []
    return {d["id"]: d for d in docs}

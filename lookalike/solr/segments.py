"""The segments of a collection's shards: the bulk-load mode a new collection is written in,
how many segments each shard has (and how many still lack an HNSW graph), and the force-merge
that leaves the few a bulk reindex publishes.

Every function takes a :class:`SolrClient` (as the role that may read or change the
collection's config) and reads each shard's active replicas through their own cores; a
missing collection is :class:`NotFound`.
"""

from __future__ import annotations

import logging
import time

from lookalike.connection import SolrClient
from lookalike.errors import NotFound

log = logging.getLogger(__name__)


# -- bulk loading ---------------------------------------------------------------------
FLAT_FLUSHES_PROPERTY = "lookalike.flatFlushes"  # the products configset's codec factory reads it


def bulk_load_mode(client: SolrClient, collection: str, on: bool, *, graph_at_merge: bool = False) -> None:
    """Switch the hard auto-commit of ``collection`` off (``on``) or back to its configset's.

    Every hard commit flushes each indexing thread's buffer as a segment with an HNSW graph of
    its own, and a force-merge then rebuilds the graph of every document outside the largest
    segment: while a new collection is bulk-loaded (not served, resumable, committed once at the
    end), the 15-second auto-commit only adds segments. With ``graph_at_merge`` (for a writer that
    force-merges after the load) the flushed segments keep no graph at all (the codec factory's
    ``flatFlushes``): the force-merge builds each graph once, on every merge worker, instead of the
    indexing threads building graphs that the merge then builds again. Until that merge a
    ``{!knn}`` search of the collection scans every vector. Through the Config API (the
    collection's own configset overlay; Solr reloads the collection's cores); switching off
    clears both.
    """
    if on:
        client.post(f"{collection}/config", json_body={"set-property": {"updateHandler.autoCommit.maxTime": -1}})
        if graph_at_merge:
            client.post(f"{collection}/config", json_body={"set-user-property": {FLAT_FLUSHES_PROPERTY: "true"}})
        return
    client.post(f"{collection}/config", json_body={"unset-property": "updateHandler.autoCommit.maxTime"})
    overlay = client.get(f"{collection}/config/overlay").get("overlay", {})
    if FLAT_FLUSHES_PROPERTY in overlay.get("userProps", {}):
        client.post(f"{collection}/config", json_body={"unset-user-property": FLAT_FLUSHES_PROPERTY})


# -- segments -------------------------------------------------------------------------
def _most_per_shard(client: SolrClient, collection: str, count) -> dict[str, int]:
    """``count(core_client, core_name)`` of every active replica of ``collection``, the most per
    shard (a replica merges on its own, and can be behind its leader), shards in order."""
    status = client.collections_api("CLUSTERSTATUS", collection=collection)
    coll = status.get("cluster", {}).get("collections", {}).get(collection)
    if coll is None:
        raise NotFound(f"collection {collection!r} does not exist")
    out: dict[str, int] = {}
    for shard, info in sorted(coll.get("shards", {}).items()):
        for replica in info.get("replicas", {}).values():
            if replica.get("state") != "active":
                continue
            with SolrClient(client.settings, replica["base_url"], role=client.role, failover=False) as core:
                out[shard] = max(out.get(shard, 0), count(core, replica["core"]))
    return out


def segment_counts(client: SolrClient, collection: str) -> dict[str, int]:
    """Segments per shard (``shard1: 9``): the most any active replica of the shard has, read from
    the cores' own luke."""
    return _most_per_shard(client, collection, lambda core, name: int(
        core.get(f"{name}/admin/luke", {"numTerms": 0, "show": "index"}).get("index", {}).get("segmentCount", 0)))


FLAT_SEGMENT_ATTRIBUTE = "lookalike.flatVectors"  # what the plugin's flat vectors format marks a segment with


def flat_segments(client: SolrClient, collection: str) -> dict[str, int]:
    """Segments per shard written without HNSW graphs (a bulk load's flushes, ``bulk_load_mode``
    with ``graph_at_merge``), the most of any active replica: after the force-merge, none."""
    def flat(core: SolrClient, name: str) -> int:
        segments = core.get(f"{name}/admin/segments").get("segments", {})
        return sum(1 for s in segments.values() if s.get("attributes", {}).get(FLAT_SEGMENT_ATTRIBUTE) == "true")

    return _most_per_shard(client, collection, flat)


MERGE_WAIT_S = 3 * 3600.0  # how long a force-merge may take before the job stops waiting for it
MERGE_POLL_S = 5.0


def force_merge(client: SolrClient, collection: str, max_segments: int, *,
                wait_s: float = MERGE_WAIT_S) -> dict[str, int]:
    """Merge every shard of ``collection`` down to ``max_segments`` segments and wait for it;
    returns the segments per shard after. A bulk-loaded collection has many segments, and each is
    a separate HNSW graph that every approximate query searches: fewer segments, faster queries.

    Solr answers the optimize request once the leaders are done, or when its own timeout for the
    forwarded request (``distribUpdateSoTimeout``, 10 minutes) runs out while the replicas still
    merge: a third of a million 256-d products per shard took longer than that here. So the
    replicas' segments are then polled until every copy is merged (or ``wait_s`` passes).
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    client.post(f"{collection}/update", {"optimize": "true", "maxSegments": max_segments, "waitSearcher": "true"},
                json_body={}, timeout_s=max(client.timeout_s, 3600.0))
    deadline = time.monotonic() + wait_s
    counts = segment_counts(client, collection)
    while any(n > max_segments for n in counts.values()) and time.monotonic() < deadline:
        log.info("waiting for the replicas of %s to merge: %s segments", collection, counts)
        time.sleep(MERGE_POLL_S)  # a merge of this size runs for minutes; this polls its result
        counts = segment_counts(client, collection)
    return counts

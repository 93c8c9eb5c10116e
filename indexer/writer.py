"""The write stage: batches Solr documents into update requests, a few batches in flight.

While Solr indexes a batch (its HNSW graph insertions keep a core busy), the next batches are
being built, encoded (orjson, numpy vectors as they are) and sent, so encoding and indexing
overlap and every node of a cloud has work.

A batch that meets a cluster that cannot serve right now (a node died: the leader of a shard
is being re-elected, a forwarded update lost its connection) is sent again, for up to
``retry_s`` seconds. Sending a batch twice is safe: a document with the same id replaces the
one before, so a retried or resumed write never duplicates a product.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson

from lookalike.connection import SolrClient
from lookalike.errors import SolrRequestError, SolrUnavailable

log = logging.getLogger(__name__)

RETRY_S = 60.0  # how long a batch keeps being retried while the cluster recovers
# Solr's words for an update that a node's death interrupted (the batch did nothing wrong).
_INTERRUPTED = re.compile(r"ClosedChannelException|Async exception during distributed update|"
                          r"Connection refused|connect timed out|Broken pipe|Failed to forward|"
                          r"Error from server at .* (Connection|Server refused)", re.IGNORECASE)
_JSON = {"Content-Type": "application/json"}


def transient(err: Exception) -> bool:
    """Whether ``err`` is the cluster's trouble (retry later), not the batch's."""
    if isinstance(err, SolrUnavailable):
        return True
    return isinstance(err, SolrRequestError) and (err.solr_status or 500) >= 500 and bool(
        _INTERRUPTED.search(err.message))


class SolrWriter:
    """Buffers documents and sends them ``batch_size`` at a time; ``commit`` sends the rest.

    Documents are plain dicts (``Product.to_solr_doc()`` plus the vector and index metadata;
    vectors may be numpy arrays). At most ``in_flight`` batches are being sent at once. A
    failed batch raises from the next ``add``/``flush``/``commit`` call.
    """

    def __init__(self, client: SolrClient, collection: str, *, batch_size: int = 500, in_flight: int = 2,
                 retry_s: float = RETRY_S):
        self.client = client
        self.collection = collection
        self.batch_size = batch_size
        self.in_flight = max(1, in_flight)
        self.retry_s = retry_s
        self.written = 0
        self.retried = 0  # batches sent again after a cluster failure
        self._buffer: list[dict[str, Any]] = []
        self._pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="solr-write")
        self._pending: deque[tuple[Future, int]] = deque()  # batches being sent, and their sizes

    def add(self, doc: dict[str, Any]) -> None:
        self._buffer.append(doc)
        if len(self._buffer) >= self.batch_size:
            self._send()

    def _send(self) -> None:
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        while len(self._pending) >= self.in_flight:
            self._wait_one()
        body = orjson.dumps(batch, option=orjson.OPT_SERIALIZE_NUMPY)
        self._pending.append((self._pool.submit(self._post, body), len(batch)))

    def _post(self, body: bytes) -> None:
        self._retrying(lambda: self.client.request("POST", f"{self.collection}/update", params={"wt": "json"},
                                                   data=body, headers=_JSON, timeout_s=600), "a batch")

    def _retrying(self, send, what: str) -> None:
        """``send()``, again after a back-off while the cluster recovers, for up to ``retry_s``."""
        deadline = time.monotonic() + self.retry_s
        pause = 0.5
        while True:
            try:
                send()
                return
            except (SolrUnavailable, SolrRequestError) as err:
                if not transient(err) or time.monotonic() + pause > deadline:
                    raise
                log.warning("%s for %s met a cluster failure (%s); sending it again in %.1f s", what,
                            self.collection, err.message[:200], pause)
                self.retried += 1
                time.sleep(pause)  # back-off while the cluster elects a new leader
                pause = min(pause * 2, 5.0)

    def _wait_one(self) -> None:
        done, size = self._pending.popleft()
        done.result()
        self.written += size

    def flush(self) -> None:
        self._send()
        while self._pending:
            self._wait_one()

    def commit(self) -> None:
        try:
            self.flush()
            self._retrying(lambda: self.client.commit(self.collection), "the commit")
        finally:
            self._pool.shutdown(wait=True)

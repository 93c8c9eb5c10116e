"""The write stage: batches Solr documents into update requests, one batch in flight.

While Solr indexes one batch (its HNSW graph insertions keep a core busy), the next batch is
being built and encoded here, so the two overlap on a two-core machine.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lookalike.connection import SolrClient


class SolrWriter:
    """Buffers documents and sends them ``batch_size`` at a time; ``commit`` sends the rest.

    Documents are plain dicts (``Product.to_solr_doc()`` plus the vector and index metadata);
    writing the same id twice replaces the document, so a resumed run can rewrite safely.
    A failed batch raises from the next ``add``/``flush``/``commit`` call.
    """

    def __init__(self, client: SolrClient, collection: str, *, batch_size: int = 500):
        self.client = client
        self.collection = collection
        self.batch_size = batch_size
        self.written = 0
        self._buffer: list[dict[str, Any]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="solr-write")
        self._in_flight: tuple[Future, int] | None = None  # the batch Solr is indexing, and its size

    def add(self, doc: dict[str, Any]) -> None:
        self._buffer.append(doc)
        if len(self._buffer) >= self.batch_size:
            self._send()

    def _send(self) -> None:
        batch, self._buffer = self._buffer, []
        self._wait()
        if batch:
            self._in_flight = (self._pool.submit(self.client.add, self.collection, batch), len(batch))

    def _wait(self) -> None:
        if self._in_flight is not None:
            (done, size), self._in_flight = self._in_flight, None
            done.result()
            self.written += size

    def flush(self) -> None:
        self._send()
        self._wait()

    def commit(self) -> None:
        try:
            self.flush()
            self.client.commit(self.collection)
        finally:
            self._pool.shutdown(wait=True)

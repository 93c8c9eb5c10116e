"""The write stage: batches Solr documents into update requests."""

from __future__ import annotations

from typing import Any

from lookalike.connection import SolrClient


class SolrWriter:
    """Buffers documents and sends them ``batch_size`` at a time; ``flush`` sends the rest.

    Documents are plain dicts (``Product.to_solr_doc()`` plus the vector and index metadata);
    writing the same id twice replaces the document, so a resumed run can rewrite safely.
    """

    def __init__(self, client: SolrClient, collection: str, *, batch_size: int = 500):
        self.client = client
        self.collection = collection
        self.batch_size = batch_size
        self.written = 0
        self._buffer: list[dict[str, Any]] = []

    def add(self, doc: dict[str, Any]) -> None:
        self._buffer.append(doc)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        self.client.add(self.collection, self._buffer)
        self.written += len(self._buffer)
        self._buffer = []

    def commit(self) -> None:
        self.flush()
        self.client.commit(self.collection)

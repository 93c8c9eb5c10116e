"""What the storefront's alias points at right now.

:class:`LiveIndex` answers "which collection does the alias serve, and how was it built"
(the index record the reindex job stored in the metadata collection), cached for a few
seconds so serving an image grid does not ask Solr the same question per picture. The
photo embedder (:mod:`indexer.photo_vectors`, handed in by the entry points) reads the
record through it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import IndexJobError, NotFound, SolrRequestError, SolrUnavailable
from lookalike.meta import IndexRecord, live_record
from lookalike.settings import Settings

log = logging.getLogger(__name__)

RECORD_TTL_S = 5.0


class LiveIndex:
    """The alias's current collection and its index record, cached ``ttl_s`` seconds."""

    def __init__(self, settings: Settings, client: SolrClient, *, ttl_s: float = RECORD_TTL_S):
        self.settings = settings
        self.client = client
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, Any] | None = None

    def record(self) -> IndexRecord:
        """The live :class:`lookalike.meta.IndexRecord`; :class:`NotFound` when there is no index."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl_s:
                return self._cached[1]
        try:
            record = live_record(self.settings, self.client, self.settings.alias)
        except IndexJobError as err:  # the alias does not exist
            raise NotFound(f"there is no index behind alias {self.settings.alias}: run `lookalike index CATALOG`") from err
        except (SolrUnavailable, SolrRequestError) as err:
            # the metadata collection or ZooKeeper is briefly out of reach: keep serving the record
            # read last (it only changes with a reindex) rather than failing every photo search
            with self._lock:
                if self._cached is None:
                    raise
                log.warning("index record of %s not refreshed (%s); serving the last one", self.settings.alias, err)
                self._cached = (time.monotonic(), self._cached[1])
                return self._cached[1]
        with self._lock:
            self._cached = (time.monotonic(), record)
        return record

    def catalog_dir(self) -> Path:
        """The folder of the catalog the live index was built from (image paths are relative to it)."""
        record = self.record()
        if not record.catalog:
            raise NotFound(f"the index {record.collection} does not record its catalog; set an images root")
        return Path(record.catalog).expanduser().resolve().parent

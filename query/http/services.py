"""Everything the query routes use, built once per app by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.meta import MetadataStore
from lookalike.settings import Settings
from query.client import SearchService
from query.embedder import ImageEmbedder
from query.explain_service import Explainer
from query.live_index import LiveIndex


class Services:
    """The Solr client, the live index, the photo embedder and the search service of one app.

    ``embedder`` builds the photo embedder from the client and the live index's record
    (the indexer's :class:`~indexer.photo_vectors.PhotoEmbedder`, handed in by :mod:`app.web`).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Callable[[Settings, SolrClient, Callable[[], Any]], ImageEmbedder],
        *,
        images_root: Path | None = None,
    ):
        self.settings = settings
        self.images_root = images_root
        # The shopper's routes read with Solr's search role; the merchandising routes write
        # (proposals, decisions, applied values) and get the indexer role.
        self.client = SolrClient(settings, role="search")
        self.writer = SolrClient(settings, role="indexer")
        self.live = LiveIndex(settings, self.client)
        self.embedder = embedder(settings, self.client, self.live.record)
        self.search = SearchService(settings, self.client, embedder=self.embedder)
        self.explainer = Explainer(settings, self.search, self.embedder, self.image_root, self._index_version)
        self._pca_manifests: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()
        self.writer.close()

    def _index_version(self) -> str:
        record = self.live.record()
        return f"{record.collection}:{record.pca_version}"

    def image_root(self) -> Path:
        return self.images_root if self.images_root is not None else self.live.catalog_dir()

    def pca_manifest(self, version: str) -> dict[str, Any]:
        if version not in self._pca_manifests:
            self._pca_manifests[version] = MetadataStore(self.client, self.settings).pca_manifest(version)
        return self._pca_manifests[version]

"""Everything the query routes use, built once per app from the one :class:`Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.settings import Settings
from query.client import SearchService
from query.live_index import ImageEmbedder, LiveIndex


class Services:
    """The Solr client, the live index, the photo embedder and the search service of one app."""

    def __init__(self, settings: Settings, *, images_root: Path | None = None):
        self.settings = settings
        self.images_root = images_root
        self.client = SolrClient(settings)
        self.live = LiveIndex(settings, self.client)
        self.embedder = ImageEmbedder(settings, self.client, self.live)
        self.search = SearchService(settings, self.client, embedder=self.embedder)
        self._pca_manifests: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    def image_root(self) -> Path:
        return self.images_root if self.images_root is not None else self.live.catalog_dir()

    def pca_manifest(self, version: str) -> dict[str, Any]:
        if version not in self._pca_manifests:
            from indexer.meta import MetadataStore

            reducer = MetadataStore(self.client, self.settings).get_pca(version)
            self._pca_manifests[version] = dict(reducer.manifest_)
        return self._pca_manifests[version]

"""The metadata store (:mod:`lookalike.meta`) plus what only the indexer can do: decode a PCA."""

from __future__ import annotations

from lookalike import meta
from lookalike.meta import IndexRecord, live_record

from indexer.pca import VectorReducer

__all__ = ["IndexRecord", "MetadataStore", "live_record"]


class MetadataStore(meta.MetadataStore):
    def get_pca(self, version: str) -> VectorReducer:
        """The fitted PCA ``version``, decoded (its integrity is checked by ``from_bytes``)."""
        return VectorReducer.from_bytes(self.pca_payload(version))

"""The model and PCA an index was built with, opened and checked against its record.

One function for every job that must make vectors in an existing index's space: the
incremental upsert (:mod:`indexer.incremental`) and search by photo
(:mod:`indexer.photo_vectors`).
"""

from __future__ import annotations

from lookalike.connection import SolrClient
from lookalike.errors import ManifestMismatch
from lookalike.meta import IndexRecord
from lookalike.settings import Settings

from indexer.meta import MetadataStore
from indexer.models import EmbeddingModel, LazyModel, load_model, open_model
from indexer.models.options import EmbeddingOptions
from indexer.models.registry import RUNTIME_MODELS
from indexer.pca import VectorReducer


def open_index_model(
    settings: Settings, client: SolrClient, record: IndexRecord, *, lazy: bool, allow_random: bool = False
) -> tuple[EmbeddingModel | LazyModel, VectorReducer]:
    """``record``'s model (with its embedding options, int8 when it was built with int8) and PCA,
    after checking that the weights
    found here are the ones it was built with and that the PCA fits the model.

    ``lazy``: build the network on first use (an upsert whose images are all cached never
    needs it). Random weights are allowed when the index was built with them, or with
    ``allow_random`` (tests).
    """
    opener = open_model if lazy else load_model
    options = EmbeddingOptions.from_record(record.recipe)
    if record.model in RUNTIME_MODELS:  # int8 stays int8; a float32 index runs in this machine's float32 runtime
        options = options.with_runtime(settings.model_runtime)
    model = opener(record.model, settings, allow_random=allow_random or record.random_weights, options=options)
    if model.weights_sha256 != record.weights_sha256:
        raise ManifestMismatch(
            f"the index {record.collection} was built with {record.model} weights {record.weights_sha256[:12]}, "
            f"but the weights found here are {model.weights_sha256[:12]}"
        )
    reducer = MetadataStore(client, settings).get_pca(record.pca_version)
    reducer.check_compatible(model.identity, model.weights_sha256, model.output_dim)
    return model, reducer

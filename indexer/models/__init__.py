"""Image embedding models behind one interface (see :mod:`indexer.models.base`).

Importing this package does not import TensorFlow; building a model does.
"""

from .base import MODEL_NAMES, EmbeddingModel, LazyModel, load_model, open_model

__all__ = ["MODEL_NAMES", "EmbeddingModel", "LazyModel", "load_model", "open_model"]

"""Image embedding models behind one interface (:mod:`indexer.models.base`), built by name
through :mod:`indexer.models.registry`.

Importing this package does not import TensorFlow; building a model does.
"""

from .base import EmbeddingModel
from .lazy import LazyModel
from .registry import MODEL_NAMES, MODELS, load_model, open_model

__all__ = ["MODELS", "MODEL_NAMES", "EmbeddingModel", "LazyModel", "load_model", "open_model"]

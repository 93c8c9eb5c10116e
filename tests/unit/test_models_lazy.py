"""open_model: the weights' identity is known at once; the network is built on first use."""

import numpy as np

from indexer.models import LazyModel, open_model
from indexer.digest import file_sha256
from indexer.models.efficientnet_lite import weights_path
from lookalike.settings import Settings


def test_efficientnet_opens_lazily_with_the_real_weights_hash(tmp_path):
    model = open_model("efficientnet_lite0", Settings(data_dir=tmp_path))
    assert isinstance(model, LazyModel) and not model.loaded
    assert model.weights_sha256 == file_sha256(weights_path())
    assert not model.random_weights

    out = model.embed(np.zeros((2, 224, 224, 3), np.float32))
    assert model.loaded and out.shape == (2, 1280) and out.dtype == np.float32


def test_an_unknown_model_is_refused_with_the_registered_names(tmp_path):
    import pytest

    from indexer.models import MODEL_NAMES
    from lookalike.errors import ModelError

    with pytest.raises(ModelError, match="choose one of: efficientnet_lite0, efficientnet_lite1, efficientnet_lite2, inception_v3"):
        open_model("resnet", Settings(data_dir=tmp_path))
    assert MODEL_NAMES == ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "inception_v3")

"""VectorReducer: fit, transform, whitening, persistence and manifest checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from indexer.pca import VectorReducer, _version, data_sha256, power_normalise
from lookalike.errors import BadRequest, ConfigError, ManifestMismatch

MODEL, WEIGHTS = "efficientnet_lite0", "ab" * 32


def _data(n=600, d=48, seed=0) -> np.ndarray:
    """Correlated vectors: a few strong directions plus noise, offset from the origin."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((6, d))
    return (rng.standard_normal((n, 6)) * [9, 7, 5, 3, 2, 1]) @ basis + rng.standard_normal((n, d)) * 0.1 + 3


def _fit(x=None, **params) -> VectorReducer:
    params.setdefault("n_components", 8)
    return VectorReducer(**params).fit(_data() if x is None else x, model_name=MODEL, weights_sha256=WEIGHTS)


def test_init_only_stores_parameters():
    reducer = VectorReducer(n_components=5000, whiten=True)
    assert reducer.get_params()["n_components"] == 5000 and reducer.whiten is True
    assert not [name for name in vars(reducer) if name.endswith("_")]
    with pytest.raises(TypeError):
        VectorReducer(8)  # keyword-only


def test_transform_is_l2_normalised_float32_and_matches_pca():
    x = _data()
    reducer = _fit(x, rotate=False)
    y = reducer.transform(x)
    assert y.shape == (600, 8) and y.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-6)
    # The same directions as a plain projection onto the top eigenvectors of the covariance.
    centred = x - x.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    projected = centred @ vecs[:, ::-1][:, :8]
    expected = projected / np.linalg.norm(projected, axis=1, keepdims=True)
    np.testing.assert_allclose(np.abs(y), np.abs(expected), atol=1e-4)
    assert reducer.manifest_["explained_variance_ratio_sum"] > 0.99


def test_a_zero_row_stays_zero():
    reducer = _fit()
    y = reducer.transform(reducer.mean_[None, :])
    np.testing.assert_array_equal(y, np.zeros((1, 8), np.float32))


def test_whitening_scales_each_component_by_its_variance():
    x = _data()
    plain, white = _fit(x), _fit(x, whiten=True)
    raw = (x - plain.mean_) @ plain.components_.T
    assert raw[:, 0].std() > 3 * raw[:, 5].std()  # unwhitened: component variances differ
    whitened = raw / np.sqrt(white.explained_variance_)
    np.testing.assert_allclose(whitened.std(axis=0, ddof=1), 1.0, rtol=1e-3)
    expected = whitened @ white.rotation_
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(white.transform(x), expected, atol=1e-5)
    assert white.manifest_["whiten"] is True and white.version != plain.version


def test_width_check_names_the_rule_and_value():
    reducer = _fit()
    with pytest.raises(BadRequest, match="expected 48 features, got 40"):
        reducer.transform(np.zeros((2, 40)))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        VectorReducer().transform(np.zeros((1, 4)))


@pytest.mark.parametrize("k", [1, 1025])
def test_width_limits(k):
    with pytest.raises(ConfigError, match="between 2 and 1024"):
        VectorReducer(n_components=k).fit(_data())


def test_too_few_vectors_for_the_width():
    with pytest.raises(ConfigError, match="at most 20"):
        VectorReducer(n_components=32).fit(_data(n=20))


def test_manifest_records_where_the_transform_came_from():
    x = _data()
    m = _fit(x).manifest_
    assert (m["model"], m["weights_sha256"], m["input_dim"], m["output_dim"]) == (MODEL, WEIGHTS, 48, 8)
    assert m["data_sha256"] == data_sha256(x) and m["n_samples"] == 600
    assert m["numpy"] == np.__version__ and m["sklearn"] and m["created"]
    assert len(m["version"]) == 12
    assert _fit(x).version == m["version"]  # same fit, same version
    assert _fit(_data(seed=1)).version != m["version"]


def test_round_trip_is_bit_identical():
    x = _data()
    reducer = _fit(x, whiten=True)
    data = reducer.to_bytes()
    loaded = VectorReducer.from_bytes(data)
    assert loaded.to_bytes() == data
    assert loaded.manifest_ == reducer.manifest_
    assert loaded.transform(x).tobytes() == reducer.transform(x).tobytes()


def test_damaged_or_altered_bytes_are_refused():
    data = _fit().to_bytes()
    with pytest.raises(ManifestMismatch, match="cannot be read"):
        VectorReducer.from_bytes(data[: len(data) // 2])
    at = data.index(b"components.npy") + 400  # a flipped bit: the zip's own CRC catches it
    with pytest.raises(ManifestMismatch, match="cannot be read"):
        VectorReducer.from_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1 :])
    # A well-formed file whose components were changed: no longer hashes to its version.
    with np.load(io.BytesIO(data)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["components"][0, 0] += 1e-9
    rewritten = io.BytesIO()
    np.savez(rewritten, **arrays)
    with pytest.raises(ManifestMismatch, match="damaged: its manifest says version"):
        VectorReducer.from_bytes(rewritten.getvalue())


def test_check_compatible_names_expected_and_actual():
    reducer = _fit()
    reducer.check_compatible(MODEL, WEIGHTS, 48)
    with pytest.raises(ManifestMismatch) as err:
        reducer.check_compatible("inception_v3", WEIGHTS, 2048)
    message = str(err.value)
    assert "model: the transform expects efficientnet_lite0, got inception_v3" in message
    assert "input width: the transform expects 48, got 2048" in message
    assert "weights" not in message.split(";", 1)[1]
    with pytest.raises(ManifestMismatch, match=f"weights sha256: the transform expects {WEIGHTS}, got cd"):
        reducer.check_compatible(MODEL, "cd" * 32, 48)


def test_large_inputs_use_a_sample_or_incremental_pca():
    x = _data(n=3000)
    full = _fit(x)
    sampled = _fit(x, sample_size=1000)
    incremental = _fit(x, incremental=True, batch_size=500)
    assert sampled.manifest_["method"] == "pca(sample=1000, seed=0, solver=covariance_eigh)"
    assert incremental.manifest_["method"] == "incremental_pca(batch_size=500)"
    for approx in (sampled, incremental):
        # The subspaces agree: each approximate component lies in the full fit's span.
        overlap = np.linalg.norm(approx.components_[:5] @ full.components_.T, axis=1)
        np.testing.assert_allclose(overlap, 1.0, atol=1e-2)
        assert approx.manifest_["data_sha256"] == full.manifest_["data_sha256"]


def test_the_covariance_fit_gives_the_full_svds_components_and_transform():
    # The reducer fits from the covariance's eigenvectors (fast at 100k x 1280); a full SVD of the
    # same data must give the same components, signs included, and so the same stored vectors.
    from sklearn.decomposition import PCA

    x = _data(n=2000, d=64)
    fitted = _fit(x, n_components=12)
    svd = PCA(n_components=12, svd_solver="full").fit(x.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(fitted.components_, svd.components_, atol=1e-6)
    np.testing.assert_allclose(fitted.explained_variance_, svd.explained_variance_, rtol=1e-6)
    y = svd.transform(x[:50]) @ fitted.rotation_
    np.testing.assert_allclose(fitted.transform(x[:50]), y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-5)


def test_power_normalisation_is_applied_before_the_pca_at_fit_and_transform():
    x = np.abs(_data())  # non-negative like pooled ReLU features
    reducer = _fit(x, power=0.5)
    rooted = np.sqrt(x)
    rooted /= np.linalg.norm(rooted, axis=1, keepdims=True)
    np.testing.assert_allclose(reducer.mean_, rooted.mean(axis=0), rtol=1e-5)
    direct = _fit(rooted)  # a plain PCA fitted on the rooted rows gives the same vectors
    # Two float32 fits of the same rows agree to ~1e-5 in the last components (on an AVX-512 machine
    # 1.8e-5 was seen); without the power step the vectors differ by ~0.1, so 1e-4 still tells them apart.
    np.testing.assert_allclose(reducer.transform(x), direct.transform(rooted), atol=1e-4)
    assert np.abs(reducer.transform(x) - _fit(x).transform(x)).max() > 1e-2
    assert reducer.manifest_["power"] == 0.5 and reducer.version != _fit(x).version
    # signed: a negative entry keeps its sign
    np.testing.assert_allclose(power_normalise(np.array([[-4.0, 0.0, 9.0]]), 0.5), [[-2 / 13**0.5, 0, 3 / 13**0.5]])


def test_shrinkage_moves_whitening_towards_plain_pca():
    x = _data()
    plain = _fit(x)
    full = _fit(x, whiten=True)
    half = _fit(x, whiten=True, shrinkage=0.5)
    none = _fit(x, whiten=True, shrinkage=1.0)
    np.testing.assert_allclose(none.transform(x), plain.transform(x), atol=1e-5)
    raw = (x - half.mean_) @ half.components_.T
    var = half.explained_variance_
    expected = raw / np.sqrt(0.5 * var + 0.5 * var.mean()) @ half.rotation_
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(half.transform(x), expected, atol=1e-5)
    assert len({plain.version, full.version, half.version}) == 3
    loaded = VectorReducer.from_bytes(half.to_bytes())
    assert loaded.transform(x).tobytes() == half.transform(x).tobytes()


@pytest.mark.parametrize("params, rule", [({"power": 0.0}, "in \\(0, 1\\]"), ({"power": 1.5}, "in \\(0, 1\\]"),
                                          ({"shrinkage": -0.1}, "in \\[0, 1\\]")])
def test_bad_post_processing_parameters_are_named(params, rule):
    with pytest.raises(ConfigError, match=rule):
        _fit(**params)


def test_a_transform_stored_in_the_first_format_still_loads_and_applies_the_same():
    """Format lookalike-pca/1 had no power or shrinkage: it loads and transforms as before."""
    x = _data()
    reducer = _fit(x, whiten=True, rotate=False)
    old = {k: v for k, v in reducer.manifest_.items() if k not in ("power", "shrinkage", "rotation")}
    old["format"] = "lookalike-pca/1"
    old["version"] = _version(old, reducer._arrays())
    reducer.manifest_ = old
    loaded = VectorReducer.from_bytes(reducer.to_bytes())
    assert loaded.manifest_["format"] == "lookalike-pca/1"
    raw = (x - loaded.mean_) @ loaded.components_.T / np.sqrt(loaded.explained_variance_)
    np.testing.assert_allclose(loaded.transform(x), raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-5)


def _spread(y: np.ndarray) -> float:
    """How unevenly the variance sits on the axes: largest over smallest per-dimension std."""
    std = y.std(axis=0)
    return float(std.max() / std.min())


def test_the_rotation_keeps_every_dot_product_and_spreads_the_variance_over_the_axes():
    x = _data(n=2000, d=64)
    plain, rotated = _fit(x, n_components=16, rotate=False), _fit(x, n_components=16)
    a, b = plain.transform(x), rotated.transform(x)
    np.testing.assert_allclose(b @ b[:100].T, a @ a[:100].T, atol=1e-5)  # same similarities, same neighbours
    np.testing.assert_allclose(rotated.rotation_ @ rotated.rotation_.T, np.eye(16), atol=1e-12)
    # PCA's axes hold the variance in decreasing order; the rotated axes about evenly
    assert _spread(a) > 100 > 5 > _spread(b)
    assert rotated.manifest_["rotation"] == "haar(seed=0)" and plain.manifest_["rotation"] == ""
    assert rotated.version != plain.version and _fit(x, n_components=16).version == rotated.version
    loaded = VectorReducer.from_bytes(rotated.to_bytes())
    assert loaded.transform(x).tobytes() == b.tobytes()
    assert VectorReducer.from_bytes(plain.to_bytes()).transform(x).tobytes() == a.tobytes()


def test_a_scalar_quantized_top_ten_keeps_more_of_the_float_top_ten_on_rotated_axes():
    """What the rotation is for: one pair of quantiles for every dimension, as Lucene's int7 has."""
    rng = np.random.default_rng(3)
    decay = np.arange(1, 65) ** -0.6  # a CNN embedding's decaying spectrum
    centres = rng.standard_normal((200, 64)) * decay
    x = centres[rng.integers(0, 200, 4000)] + 0.3 * rng.standard_normal((4000, 64)) * decay
    plain, rotated = _fit(x, n_components=32, rotate=False), _fit(x, n_components=32)

    def kept(reducer):
        y = reducer.transform(x)
        lo, hi = np.quantile(y, [0.01, 0.99])
        scale = 127 / (hi - lo)
        q = np.round((np.clip(y, lo, hi) - lo) * scale) / scale + lo
        exact = np.argsort(-(y[:200] @ y.T), axis=1)[:, :10]
        approx = np.argsort(-(q[:200] @ q.T), axis=1)[:, :10]
        return np.mean([len(set(e) & set(a)) / 10 for e, a in zip(exact, approx, strict=True)])

    assert kept(plain) + 0.08 < kept(rotated)  # 0.75 against 0.88 on this data


def test_a_transform_stored_without_rotation_still_loads_and_applies_the_same():
    """Format lookalike-pca/2 had no rotation: the collections it wrote keep their axes."""
    x = _data()
    reducer = _fit(x, rotate=False)
    old = {k: v for k, v in reducer.manifest_.items() if k != "rotation"}
    old["format"] = "lookalike-pca/2"
    old["version"] = _version(old, reducer._arrays())
    reducer.manifest_ = old
    loaded = VectorReducer.from_bytes(reducer.to_bytes())
    assert loaded.rotation_ is None and loaded.manifest_["format"] == "lookalike-pca/2"
    assert loaded.transform(x).tobytes() == reducer.transform(x).tobytes()


def _pairs(n=300, d=40, seed=0):
    """Images whose identity lives in 10 weak directions; views of one image differ from it
    along 5 strong nuisance directions (what a crop or a colour change moves)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    signal, nuisance = basis[:, :10], basis[:, 10:15]
    identity = rng.standard_normal((n, 10)) @ signal.T
    x = identity + 4 * rng.standard_normal((n, 5)) @ nuisance.T + 0.05 * rng.standard_normal((n, d)) + 5
    views = identity + 4 * rng.standard_normal((n, 5)) @ nuisance.T + 0.05 * rng.standard_normal((n, d)) + 5
    return x, views


def test_the_adaptation_learns_to_ignore_what_views_of_one_image_disagree_on():
    x, views = _pairs()
    plain = _fit(x, n_components=12, whiten=True)
    adapted = VectorReducer(n_components=12, adapt=True, shrinkage=0.05).fit(
        x, views=views, model_name=MODEL, weights_sha256=WEIGHTS)

    def matched(reducer):  # each view's nearest image is its own
        sims = reducer.transform(views) @ reducer.transform(x).T
        return np.mean(np.argmax(sims, axis=1) == np.arange(len(x)))

    assert matched(plain) < 0.5 < 0.95 < matched(adapted)
    m = adapted.manifest_
    assert m["adapt"] is True and m["whiten"] is False and m["method"].startswith("learned_whitening(views=300")
    loaded = VectorReducer.from_bytes(adapted.to_bytes())
    assert loaded.transform(x).tobytes() == adapted.transform(x).tobytes()


def test_the_adaptation_needs_views_and_enough_of_them():
    x, views = _pairs(n=30)
    with pytest.raises(ConfigError, match="needs the vectors of augmented views"):
        VectorReducer(n_components=8, adapt=True).fit(x)
    with pytest.raises(ConfigError, match="one view per image"):
        VectorReducer(n_components=8, adapt=True).fit(x, views=views[:, :20])


def test_transform_in_blocks_is_the_same_as_at_once(monkeypatch):
    """transform() works over blocks of rows; the result does not depend on the block size."""
    from indexer import pca as pca_module

    rng = np.random.default_rng(3)
    x = np.abs(rng.standard_normal((300, 40))).astype(np.float32)
    for options in ({}, {"whiten": True, "power": 0.5, "shrinkage": 0.2}):
        reducer = pca_module.VectorReducer(n_components=8, **options).fit(x)
        whole = reducer.transform(x)
        monkeypatch.setattr(pca_module, "TRANSFORM_ROWS", 7)
        blocks = reducer.transform(x)
        monkeypatch.setattr(pca_module, "TRANSFORM_ROWS", 4096)
        np.testing.assert_array_equal(blocks, whole)
        assert blocks.dtype == np.float32 and blocks.shape == (300, 8)
        np.testing.assert_allclose(np.linalg.norm(blocks, axis=1), 1.0, rtol=1e-6)

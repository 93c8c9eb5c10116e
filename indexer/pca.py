"""PCA that turns model embeddings into the short, L2-normalised vectors Solr stores.

The transform, fitted on the catalog at index time and applied by every query:

1. signed power normalisation ``sign(x) * |x| ** power`` (``power=0.5`` is the signed
   square root; ``1.0`` leaves the input alone), then L2 -- only when ``power != 1``;
2. PCA to ``n_components``, whitened with shrinkage when ``whiten``: component ``i`` is
   divided by ``sqrt((1 - shrinkage) * var_i + shrinkage * mean(var))``, so ``shrinkage=0``
   is full whitening and ``shrinkage=1`` plain PCA (eigenvalue regularisation: the noisy
   small components are not blown up to the strength of the large ones);
3. a seeded random rotation (an orthogonal matrix, Haar-distributed): it changes no dot
   product, no distance and no neighbour, but it spreads the variance that PCA puts in the
   first components evenly over every dimension. Lucene's scalar quantization (int7, int4)
   uses one pair of quantiles for all dimensions, so on PCA's axes the small components get
   only a few levels and the quantized graph finds the wrong neighbours; on rotated axes every
   dimension uses the whole range (on 200k of the benchmark's 256-d vectors, a brute-force int7
   top 10 kept 0.67 of the float top 10 on PCA's axes and 0.96 on rotated axes);
4. L2, so Solr's dot product is the cosine.

:class:`VectorReducer` is a scikit-learn style estimator: ``__init__`` only stores its
keyword-only parameters, ``fit`` does the work (exact PCA on at most ``sample_size``
vectors, a seeded random sample of them when there are more; or, with ``incremental=True``,
IncrementalPCA over all of them in batches of ``batch_size``), fitted state ends in ``_``, ``transform`` checks that it
is fitted and that the input has the fitted width.

The fitted transform is only a few arrays (mean, components, variances, rotation), applied by our
own code, so a stored transform does not depend on scikit-learn's pickles or version.
``to_bytes`` writes them with a manifest into a byte-for-byte reproducible ``.npz`` (no
pickle inside); the manifest's ``version`` is a short hash of the manifest and the arrays,
so the same fit on the same data always gets the same version.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import numpy as np
import sklearn
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.exceptions import NotFittedError

from lookalike.errors import BadRequest, ConfigError, ManifestMismatch
from lookalike.fields import MAX_VECTOR_DIMS

FORMAT = "lookalike-pca/3"
# /1: no power step, whitening without shrinkage; /2: no rotation
FORMATS = ("lookalike-pca/1", "lookalike-pca/2", FORMAT)
_ARRAYS = ("mean", "components", "explained_variance", "explained_variance_ratio")
_ROTATED_ARRAYS = (*_ARRAYS, "rotation")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TRANSFORM_ROWS = 4096  # rows per block of transform(): 40 MB of float64 at width 1280


def data_sha256(x: np.ndarray) -> str:
    """SHA-256 of a float32 matrix (shape and little-endian bytes)."""
    x = np.ascontiguousarray(x, dtype="<f4")
    digest = hashlib.sha256(f"{x.shape[0]}x{x.shape[1]}:".encode())
    digest.update(memoryview(x).cast("B"))
    return digest.hexdigest()


def _array_names(manifest: dict) -> tuple[str, ...]:
    return _ROTATED_ARRAYS if manifest.get("rotation") else _ARRAYS


def _version(manifest: dict, arrays: dict[str, np.ndarray]) -> str:
    stable = {k: v for k, v in manifest.items() if k not in ("version", "created")}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode())
    for name in _array_names(manifest):
        digest.update(np.ascontiguousarray(arrays[name], dtype="<f8").tobytes())
    return digest.hexdigest()[:12]


class _Fitted:
    """The fitted arrays of a projection that is not one of scikit-learn's PCAs."""

    def __init__(self, mean, components, variance, ratio):
        self.mean_, self.components_, self.explained_variance_, self.explained_variance_ratio_ = (
            mean, components, variance, ratio)


def balancing_rotation(width: int, seed: int) -> np.ndarray:
    """A ``width x width`` random orthogonal matrix (Haar measure, scipy's ``ortho_group``), seeded.

    Rotating a set of vectors by it keeps every dot product; their variance, whatever axes it
    was on, ends up spread over all dimensions about evenly (what scalar quantization needs).
    """
    from scipy.stats import ortho_group

    return ortho_group.rvs(width, random_state=seed).astype(np.float64)


def power_normalise(x: np.ndarray, power: float) -> np.ndarray:
    """``sign(x) * |x| ** power``, rows then L2-normalised; ``power == 1`` returns ``x`` unchanged."""
    if power == 1.0:
        return x
    y = np.sign(x) * np.abs(x) ** power
    norms = np.linalg.norm(y, axis=1, keepdims=True)
    return np.divide(y, norms, out=np.zeros_like(y), where=norms > 0)


class VectorReducer:
    """Power normalisation, PCA to ``n_components`` (optionally whitened with shrinkage), L2."""

    def __init__(
        self,
        *,
        n_components: int = 256,
        whiten: bool = False,
        power: float = 1.0,
        shrinkage: float = 0.0,
        adapt: bool = False,
        rotate: bool = True,
        sample_size: int = 50_000,
        incremental: bool = False,
        batch_size: int = 4096,
        random_state: int = 0,
    ):
        self.n_components = n_components
        self.whiten = whiten
        self.power = power
        self.shrinkage = shrinkage
        self.adapt = adapt
        self.rotate = rotate
        self.sample_size = sample_size
        self.incremental = incremental
        self.batch_size = batch_size
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict:
        return {
            "n_components": self.n_components,
            "whiten": self.whiten,
            "power": self.power,
            "shrinkage": self.shrinkage,
            "adapt": self.adapt,
            "rotate": self.rotate,
            "sample_size": self.sample_size,
            "incremental": self.incremental,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
        }

    def fit(self, x, y=None, *, model_name: str = "", weights_sha256: str = "", views=None,
            view_rows=None) -> VectorReducer:
        """Fit on ``x[n, d]``; ``model_name`` and ``weights_sha256`` say where ``x`` came from.

        With ``adapt=True``, ``views[m, d]`` are the vectors of augmented views of the rows
        ``view_rows`` of ``x`` (default: the first ``m``): the projection is then learned whitening
        (:mod:`indexer.adaptation`), ``shrinkage`` regularises its within-view covariance, and
        ``whiten`` is not applied on top of it.
        """
        x = np.asarray(x, dtype=np.float32)
        k = self.n_components
        if not 2 <= k <= MAX_VECTOR_DIMS:
            raise ConfigError(f"PCA width must be between 2 and {MAX_VECTOR_DIMS}, got {k}")
        if x.ndim != 2 or not np.isfinite(x).all():
            raise BadRequest(f"PCA needs a finite 2-d array of vectors, got shape {x.shape}")
        if not 0.0 < self.power <= 1.0:
            raise ConfigError(f"the power of the power normalisation must be in (0, 1], got {self.power}")
        if not 0.0 <= self.shrinkage <= 1.0:
            raise ConfigError(f"the whitening shrinkage must be in [0, 1], got {self.shrinkage}")
        raw = x
        x = power_normalise(x, self.power).astype(np.float32, copy=False)  # power 1: x itself, not a copy
        n, d = x.shape
        if k > min(n, d):
            raise ConfigError(
                f"a PCA of width {k} needs at least {k} vectors of at least {k} features, "
                f"got {n} vectors of {d}; choose a width of at most {min(n, d)}"
            )
        if min(self.sample_size, self.batch_size) < k:
            raise ConfigError(f"sample_size and batch_size must be at least the PCA width {k}")
        if self.adapt:
            from indexer.adaptation import learned_whitening

            if views is None:
                raise ConfigError("the adaptation needs the vectors of augmented views (views=...)")
            views = power_normalise(np.asarray(views, dtype=np.float32), self.power)
            m = len(views)
            rows = np.arange(m) if view_rows is None else np.asarray(view_rows)
            mean, components, variance = learned_whitening(x[rows], views, k, shrinkage=self.shrinkage)
            pca = _Fitted(mean, components, variance, variance / max(float(variance.sum()), 1e-12))
            method = f"learned_whitening(views={m}, shrinkage={self.shrinkage})"
        elif self.incremental:
            batch = max(self.batch_size, k)
            pca = IncrementalPCA(n_components=k, batch_size=batch).fit(x)
            method = f"incremental_pca(batch_size={batch})"
        else:
            sample = x
            if n > self.sample_size:
                rows = np.random.default_rng(self.random_state).choice(n, self.sample_size, replace=False)
                sample = x[np.sort(rows)]
            # The eigenvectors of the d x d covariance (one matrix product over the sample, in
            # float64) instead of a full SVD of the n x d sample: the same components (signs
            # fixed the same way), about 5x faster at 10k x 1280 and more as n grows.
            pca = PCA(n_components=k, svd_solver="covariance_eigh").fit(sample.astype(np.float64))
            method = f"pca(sample={len(sample)}, seed={self.random_state}, solver=covariance_eigh)"
        self.mean_ = pca.mean_.astype(np.float64)
        self.components_ = pca.components_.astype(np.float64)
        self.explained_variance_ = pca.explained_variance_.astype(np.float64)
        self.explained_variance_ratio_ = pca.explained_variance_ratio_.astype(np.float64)
        self.rotation_ = balancing_rotation(k, self.random_state) if self.rotate else None
        self.n_features_in_ = d
        self.n_components_ = k
        manifest = {
            "format": FORMAT,
            "model": model_name,
            "weights_sha256": weights_sha256,
            "input_dim": d,
            "output_dim": k,
            "whiten": bool(self.whiten) and not self.adapt,
            "power": float(self.power),
            "shrinkage": float(self.shrinkage) if self.whiten or self.adapt else 0.0,
            "adapt": bool(self.adapt),
            "rotation": f"haar(seed={self.random_state})" if self.rotate else "",
            "explained_variance_ratio_sum": round(float(self.explained_variance_ratio_.sum()), 6),
            "n_samples": n,
            "method": method,
            "data_sha256": data_sha256(raw),
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        manifest["version"] = _version(manifest, self._arrays())
        self.manifest_ = manifest
        return self

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "mean": self.mean_,
            "components": self.components_,
            "explained_variance": self.explained_variance_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }
        if self.rotation_ is not None:
            arrays["rotation"] = self.rotation_
        return arrays

    def _check_fitted(self) -> None:
        if not hasattr(self, "manifest_"):
            raise NotFittedError("this VectorReducer is not fitted yet; call fit() or from_bytes() first")

    @property
    def version(self) -> str:
        self._check_fitted()
        return self.manifest_["version"]

    def transform(self, x) -> np.ndarray:
        """``x[n, input_dim]`` -> ``float32[n, output_dim]``, each row of unit length (zero stays zero).

        Computed in float64 over blocks of :data:`TRANSFORM_ROWS` rows: the same arithmetic per
        row as over the whole matrix at once, without its float64 copies (at 100k x 1280, two
        temporaries of 1 GB each)."""
        self._check_fitted()
        x = np.asarray(x)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            got = x.shape[1] if x.ndim == 2 else f"an array of shape {x.shape}"
            raise BadRequest(f"expected {self.n_features_in_} features, got {got}")
        out = np.empty((x.shape[0], self.n_components_), dtype=np.float32)
        power = self.manifest_.get("power", 1.0)
        scale = self.scale_() if self.manifest_["whiten"] else None
        for start in range(0, x.shape[0], TRANSFORM_ROWS):
            block = power_normalise(np.asarray(x[start:start + TRANSFORM_ROWS], dtype=np.float64), power)
            y = (block - self.mean_) @ self.components_.T
            if scale is not None:
                y /= scale
            if self.rotation_ is not None:
                y = y @ self.rotation_
            norms = np.linalg.norm(y, axis=1, keepdims=True)
            out[start:start + TRANSFORM_ROWS] = np.divide(y, norms, out=np.zeros_like(y), where=norms > 0)
        return out

    def scale_(self) -> np.ndarray:
        """What each whitened component is divided by (shrunk towards the mean variance)."""
        s = self.manifest_.get("shrinkage", 0.0)
        var = self.explained_variance_
        return np.sqrt(np.maximum((1.0 - s) * var + s * var.mean(), 1e-12))

    def fit_transform(self, x, y=None, **fit_params) -> np.ndarray:
        return self.fit(x, **fit_params).transform(x)

    def check_compatible(self, model_name: str, weights_sha256: str, input_dim: int) -> None:
        """Raise :class:`ManifestMismatch` naming each value that differs from the fitted one."""
        self._check_fitted()
        m = self.manifest_
        wrong = [
            f"{what}: the transform expects {expected}, got {actual}"
            for what, expected, actual in (
                ("model", m["model"], model_name),
                ("weights sha256", m["weights_sha256"], weights_sha256),
                ("input width", m["input_dim"], input_dim),
            )
            if expected != actual
        ]
        if wrong:
            raise ManifestMismatch(f"PCA transform {m['version']} does not fit these vectors; " + "; ".join(wrong))

    def to_bytes(self) -> bytes:
        """The fitted transform as a reproducible ``.npz`` (same fit -> same bytes)."""
        self._check_fitted()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
            manifest = json.dumps(self.manifest_, sort_keys=True).encode()
            entries = {"manifest": np.frombuffer(manifest, dtype=np.uint8), **self._arrays()}
            for name, array in entries.items():
                member = io.BytesIO()
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE), member.getvalue())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> VectorReducer:
        """Load what :meth:`to_bytes` wrote; a damaged or altered transform is refused."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                manifest = json.loads(npz["manifest"].tobytes().decode())
                arrays = {name: npz[name] for name in _array_names(manifest)}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
            raise ManifestMismatch(f"stored PCA transform cannot be read: {err}") from err
        if manifest.get("format") not in FORMATS:
            raise ManifestMismatch(
                f"stored PCA transform has format {manifest.get('format')!r}, expected one of {', '.join(FORMATS)}"
            )
        actual = _version(manifest, arrays)
        if manifest.get("version") != actual:
            raise ManifestMismatch(
                f"stored PCA transform is damaged: its manifest says version {manifest.get('version')}, "
                f"its content hashes to {actual}"
            )
        reducer = cls(n_components=manifest["output_dim"], whiten=manifest["whiten"],
                      power=manifest.get("power", 1.0), shrinkage=manifest.get("shrinkage", 0.0),
                      adapt=manifest.get("adapt", False), rotate=bool(manifest.get("rotation")))
        reducer.mean_ = arrays["mean"]
        reducer.components_ = arrays["components"]
        reducer.explained_variance_ = arrays["explained_variance"]
        reducer.explained_variance_ratio_ = arrays["explained_variance_ratio"]
        reducer.rotation_ = arrays.get("rotation")
        reducer.n_features_in_ = manifest["input_dim"]
        reducer.n_components_ = manifest["output_dim"]
        reducer.manifest_ = manifest
        return reducer

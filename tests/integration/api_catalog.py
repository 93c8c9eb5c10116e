"""A small hand-made catalog for the HTTP API tests: 4-d unit vectors, real image files on disk.

:func:`build` writes ``catalog.jsonl`` and ``images/`` under a folder, indexes the products
into a fresh collection, records the index in a metadata collection (as the reindex job
does) and points an alias at it. Expected answers are computed with numpy from
:data:`PRODUCTS`, never written by hand.

A few products carry hostile image references (``..``, an absolute path, a symlink out of
the catalog folder, a percent-encoded ``..``) to prove the image route serves nothing
outside the catalog folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lookalike.connection import SolrClient
from lookalike.errors import LookalikeError
from lookalike.settings import Settings
from lookalike.solr import cloud
from app.web import create_app

from indexer.meta import IndexRecord, MetadataStore

DIMS = 4
SECRET = "the secret outside the catalog folder"

# id, group, colour, category, price, in_stock, direction (before normalising)
PRODUCTS = [
    ("a1", "design-a", "red", "shirt", 20.0, True, (1.0, 0.05, 0.0, 0.0)),
    ("a2", "design-a", "red", "shirt", 21.0, True, (1.0, 0.10, 0.02, 0.0)),
    ("a3", "design-a", "red", "shirt", 22.0, False, (0.98, 0.0, 0.12, 0.0)),
    ("b1", "design-b", "blue", "shirt", 30.0, True, (0.8, 0.5, 0.0, 0.1)),
    ("b2", "design-b", "blue", "shirt", 31.0, True, (0.75, 0.55, 0.05, 0.1)),
    ("c1", "design-c", "red", "hat", 15.0, True, (0.5, 1.0, 0.0, 0.0)),
    ("c2", "design-c", "red", "hat", 16.0, False, (0.4, 1.0, 0.1, 0.0)),
    ("d1", "design-d", "green", "hat", 12.0, True, (0.1, 0.2, 1.0, 0.0)),
    ("d2", "design-d", "green", "hat", 13.0, True, (0.0, 0.3, 1.0, 0.1)),
    ("e1", "design-e", "blue", "bag", 80.0, True, (-1.0, 0.1, 0.0, 0.3)),
    ("e2", "design-e", "blue", "bag", 85.0, True, (-0.9, 0.0, 0.2, 0.4)),
]
# Products whose image reference tries to leave the catalog folder: id -> reference.
HOSTILE = {
    "x-dotdot": "../secret.txt",
    "x-deep": "images/../../secret.txt",
    "x-abs": "<abs secret>",
    "x-fileurl": "<file url secret>",
    "x-link": "images/link-out.png",
    "x-enc": "%2e%2e/secret.txt",
    "x-etc": "/etc/passwd",
}
# A product whose image is on the web: the app redirects the browser there.
REMOTE = {"x-remote": "https://cdn.example.com/images/x-remote.jpg"}
HOSTILE_VECTOR = (0.0, 0.0, 0.0, 1.0)
COLOURS = {"red": (200, 40, 40), "blue": (40, 70, 200), "green": (40, 160, 60)}


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


@dataclass
class ApiCatalog:
    settings: Settings
    collection: str
    folder: Path
    secret: Path
    vectors: dict[str, np.ndarray]
    docs: dict[str, dict]

    def cosine(self, a: str, b: str) -> float:
        return float(self.vectors[a] @ self.vectors[b])

    def ranked(self, target: str, keep=lambda doc: True) -> list[tuple[str, float]]:
        """Every other product passing ``keep``, most similar first (ties by id), as numpy sees it."""
        rows = [(i, self.cosine(target, i)) for i, d in self.docs.items() if i != target and keep(d)]
        return sorted(rows, key=lambda r: (-r[1], r[0]))


def write_files(root: Path) -> tuple[Path, Path, list[dict]]:
    """The catalog folder (with images) and a secret file beside it; returns (catalog, secret, docs)."""
    folder = root / "catalog"
    (folder / "images").mkdir(parents=True)
    secret = root / "secret.txt"
    secret.write_text(SECRET)
    (folder / "images" / "link-out.png").symlink_to(secret)
    docs = []
    for pid, group, colour, category, price, in_stock, direction in PRODUCTS:
        image = Image.new("RGB", (48, 48), COLOURS[colour])
        image.save(folder / "images" / f"{pid}.png")
        docs.append({
            "id": pid, "image": f"images/{pid}.png", "title": f"{colour.title()} {category} {pid}",
            "group": group, "price": price, "in_stock": in_stock, "color_s": colour, "category_s": category,
            "vector": [float(x) for x in unit(direction)],
        })
    for pid, ref in {**HOSTILE, **REMOTE}.items():
        ref = ref.replace("<abs secret>", str(secret)).replace("<file url secret>", secret.as_uri())
        docs.append({"id": pid, "image": ref, "title": f"hostile {pid}", "group": pid, "price": 1.0,
                     "in_stock": True, "color_s": "black", "category_s": "trap",
                     "vector": [float(x) for x in unit(HOSTILE_VECTOR)]})
    catalog = folder / "catalog.jsonl"
    with catalog.open("w") as f:
        for d in docs:
            line = {k: v for k, v in d.items() if k != "vector"}
            line["color"] = line.pop("color_s")
            line["category"] = line.pop("category_s")
            f.write(json.dumps(line) + "\n")
    return catalog, secret, docs


def build(client: SolrClient, settings: Settings, root: Path, collection: str, *, random_weights: bool = True) -> ApiCatalog:
    """Index the catalog into ``collection`` (already created, 4-d), record it, alias it."""
    catalog, secret, docs = write_files(root)
    client.add(collection, docs, commit=True)
    store = MetadataStore(client, settings)
    store.ensure()
    store.put_index_record(IndexRecord(
        collection=collection, alias=settings.alias, model="efficientnet_lite0", weights_sha256="0" * 64,
        pca_version="handmade-4d", dims=DIMS, random_weights=random_weights, count=len(docs),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), catalog=str(catalog),
    ))
    cloud.create_alias(client, settings.alias, collection)
    return ApiCatalog(
        settings=settings, collection=collection, folder=catalog.parent, secret=secret,
        vectors={d["id"]: np.asarray(d["vector"]) for d in docs},
        docs={d["id"]: d for d in docs},
    )


@contextlib.contextmanager
def indexed(solr, root: Path, name: str, **settings_update) -> Iterator[ApiCatalog]:
    """The hand-made catalog in its own collection, alias and metadata collection; removed after."""
    suffix = f"{name}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    settings = solr.settings.model_copy(
        update={"alias": f"api_{suffix}", "meta_collection": f"meta_{suffix}", **settings_update}
    )
    collection = f"c_{suffix}"
    cloud.create_collection(solr.client, collection, dims=DIMS)
    try:
        yield build(solr.client, settings, root, collection)
    finally:
        for step in (
            lambda: cloud.delete_alias(solr.client, settings.alias),
            lambda: cloud.delete_collection(solr.client, collection),
            lambda: solr.client.collections_api("DELETE", name=settings.meta_collection),
        ):
            try:
                step()
            except LookalikeError:
                pass


def http(settings: Settings, **app_options) -> TestClient:
    """A test client of the real app; server errors come back as responses, as a browser sees them."""
    return TestClient(create_app(settings, **app_options), raise_server_exceptions=False)


@contextlib.contextmanager
def real_index(solr, root: Path, name: str, *, count: int = 28, dims: int = 8, seed: int = 7,
               images: int = 1) -> Iterator[tuple[Settings, object, Path]]:
    """A small demo catalog indexed by the real reindex job (pretrained EfficientNet-Lite0, PCA),
    under its own alias and metadata collection; yields (settings, summary, catalog path)."""
    from indexer.demo_catalog import generate
    from indexer.reindex import ReindexOptions, reindex

    suffix = f"{name}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    settings = solr.settings.model_copy(
        update={"alias": f"real_{suffix}", "meta_collection": f"meta_{suffix}", "data_dir": root / "data"}
    )
    catalog = Path(generate(root / "demo", count=count, seed=seed, workers=1, images=images)).resolve()
    summary = None
    try:
        summary = reindex(
            settings, solr.client,
            # the defaults a new catalog gets (settings), at this width
            ReindexOptions.from_settings(settings, catalog=catalog, alias=settings.alias, model="efficientnet_lite0",
                                         dims=dims),
            show_progress=False,
        )
        yield settings, summary, catalog
    finally:
        steps = [lambda: cloud.delete_alias(solr.client, settings.alias)]
        if summary is not None:
            steps.append(lambda: cloud.delete_collection(solr.client, summary.collection))
        steps.append(lambda: solr.client.collections_api("DELETE", name=settings.meta_collection))
        for step in steps:
            try:
                step()
            except LookalikeError:
                pass


@contextlib.contextmanager
def live_and_candidate(solr, root: Path, name: str, *, count: int = 28) -> Iterator[tuple[Settings, str, object]]:
    """A live index (8-d) and a candidate of the same catalog at 6 dims built with ``swap=False``
    (``lookalike index --no-swap``); yields (settings, live collection, candidate summary) and
    removes the candidate afterwards, also when a test promoted it."""
    from indexer.reindex import ReindexOptions, reindex

    with real_index(solr, root, name, count=count, dims=8) as (settings, summary, catalog):
        options = ReindexOptions.from_settings(settings, catalog=catalog, alias=settings.alias, dims=6, swap=False)
        candidate = reindex(settings, solr.client, options, show_progress=False)
        try:
            yield settings, summary.collection, candidate
        finally:
            if cloud.alias_target(solr.client, settings.alias) == candidate.collection:
                cloud.delete_alias(solr.client, settings.alias)
            if candidate.collection in cloud.list_collections(solr.client):
                cloud.delete_collection(solr.client, candidate.collection)


def drop_alias(client: SolrClient, alias: str) -> None:
    """Remove ``alias`` and every collection the reindex job made for it (``<alias>_<timestamp>``)."""
    if cloud.alias_target(client, alias):
        cloud.delete_alias(client, alias)
    for name in cloud.list_collections(client):
        if name.startswith(alias + "_"):
            cloud.delete_collection(client, name)


def hand_made_fixtures(name: str):
    """Module-scoped fixtures ``cat`` (the hand-made catalog in its own collection ``name``) and
    ``api`` (a test client of the app over it), for a test module to bind:
    ``cat, api = api_catalog.hand_made_fixtures("products")``."""

    @pytest.fixture(scope="module")
    def cat(solr, tmp_path_factory):
        with indexed(solr, tmp_path_factory.mktemp(f"api-{name}"), name) as catalog:
            yield catalog

    @pytest.fixture(scope="module")
    def api(cat):
        with http(cat.settings) as client:
            yield client

    return cat, api


def real_fixtures(name: str, **index_options):
    """Module-scoped fixtures ``real`` (:func:`real_index`: settings, summary, catalog path), ``api``
    over it and ``products`` (the catalog's rows), for a test module to bind:
    ``real, api, products = api_catalog.real_fixtures("upload")``."""

    @pytest.fixture(scope="module")
    def real(solr, tmp_path_factory):
        with real_index(solr, tmp_path_factory.mktemp(name), name, **index_options) as built:
            yield built

    @pytest.fixture(scope="module")
    def api(real):
        with http(real[0]) as client:
            yield client

    @pytest.fixture(scope="module")
    def products(real):
        return [json.loads(line) for line in real[2].read_text().splitlines() if line.strip()]

    return real, api, products

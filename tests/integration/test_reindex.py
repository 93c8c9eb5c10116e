"""The bulk reindex job end to end: real Solr, real images, the real pretrained model.

One small demo catalog (a few designs, several variants each) with bad items mixed in:
a missing file, a truncated JPEG, a text file named .jpg, an oversized image and malformed
lines. Every good product must be indexed, every bad one reported, and the alias must
change only when a run completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import api_catalog
from PIL import Image

from indexer.demo_catalog import generate
from indexer.incremental import delete, live_record, upsert
from indexer.meta import MetadataStore
from indexer.aliases import rollback
from indexer.reindex import ReindexOptions, reindex
from lookalike.errors import IndexJobError
from lookalike.fields import VECTOR_FIELD
from lookalike.solr_syntax import local_params, vector_literal
from lookalike.solr import cloud

pytestmark = pytest.mark.integration

GOOD = 24
DIMS = 16
MODEL = "efficientnet_lite0"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    path = generate(root, GOOD, seed=11)
    img = root / "images"
    good_jpeg = sorted(img.glob("*.jpg"))[0].read_bytes()
    (img / "truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    (img / "text.jpg").write_text("this is not an image\n")
    Image.new("RGB", (2500, 2500), (200, 30, 30)).save(img / "huge.jpg", quality=50)
    bad = [
        {"id": "bad-missing", "image": "images/nowhere.jpg", "title": "missing file"},
        {"id": "bad-truncated", "image": "images/truncated.jpg"},
        {"id": "bad-text", "image": "images/text.jpg"},
        {"id": "bad-huge", "image": "images/huge.jpg"},
    ]
    with path.open("a") as f:
        for row in bad:
            f.write(json.dumps(row) + "\n")
        f.write("{this is not json\n")
        f.write(json.dumps({"id": "bad-no-image"}) + "\n")
    return path


@pytest.fixture(scope="module")
def settings(solr, tmp_path_factory):
    # a pixel limit the 2500x2500 image breaks, and a data dir (cache, reports) of our own
    return solr.settings.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("reindex-data"), "max_image_pixels": 4_000_000, "batch_size": 8,
    })


def _options(catalog: Path, alias: str, **kw) -> ReindexOptions:
    return ReindexOptions(catalog=catalog, alias=alias, model=MODEL, dims=DIMS, **kw)


def _drop_alias(solr, alias: str) -> None:
    api_catalog.drop_alias(solr.client, alias)


@pytest.fixture
def alias(solr, request):
    name = "rx_" + request.node.name.split("[")[0][-20:].lower().replace("test_", "")
    yield name
    _drop_alias(solr, name)


def test_index_reports_every_bad_item_and_serves_the_rest(solr, settings, catalog, alias):
    summary = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    assert summary.segments == {"shard1": 1}  # merged before it was verified and published
    assert "segments per shard after the merge: shard1 1" in summary.to_text()

    assert summary.read == GOOD + 6
    assert summary.indexed == GOOD
    assert summary.failed == 6
    assert summary.failed_by_reason == {
        "bad_json": 1, "missing": 1, "missing_image": 1, "not_an_image": 1, "too_many_pixels": 1, "truncated": 1,
    }
    reported = [json.loads(line) for line in Path(summary.report).read_text().splitlines()]
    assert {r["id"] for r in reported if r["id"]} >= {"bad-missing", "bad-truncated", "bad-text", "bad-huge"}
    assert any(r["line"] == GOOD + 5 for r in reported), "the malformed JSON line is reported with its number"

    assert cloud.alias_target(solr.client, alias) == summary.collection
    resp = solr.client.select(alias, {"q": "*:*", "rows": 100, "fl": "id,vector,model,pca_version,group"})
    docs = resp["response"]["docs"]
    assert len(docs) == GOOD and not any(d["id"].startswith("bad-") for d in docs)
    assert {d["model"] for d in docs} == {MODEL} and {d["pca_version"] for d in docs} == {summary.pca_version}
    vectors = np.array([d["vector"] for d in docs])
    assert vectors.shape == (GOOD, DIMS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    # the PCA is stored in Solr and is the transform the documents were written with
    record = live_record(settings, solr.client, alias)
    assert record.count == GOOD and not record.random_weights and record.model == MODEL
    reducer = MetadataStore(solr.client, settings).get_pca(record.pca_version)
    assert reducer.version == summary.pca_version

    # the real model makes variants of one design each other's nearest neighbours
    groups = [d["group"] for d in docs]
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -2)
    same = [groups[i] == groups[int(np.argmax(sims[i]))] for i in range(len(docs))]
    assert np.mean(same) >= 0.8, f"nearest neighbour is a variant of the same design for {np.mean(same):.0%}"


def _auto_commit_ms(solr, collection: str) -> int:
    config = solr.client.get(f"{collection}/config/updateHandler")["config"]["updateHandler"]
    return int(config["autoCommit"]["maxTime"])


def test_the_bulk_write_runs_without_auto_commits_and_the_served_collection_has_them_again(
        solr, settings, catalog, alias, monkeypatch):
    import indexer.reindex as reindex_module

    seen = []
    real_write = reindex_module.write_docs

    def watched_write(client, collection, docs):
        seen.append(_auto_commit_ms(solr, collection))
        return real_write(client, collection, docs)

    monkeypatch.setattr(reindex_module, "write_docs", watched_write)
    summary = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    assert seen == [-1]  # while bulk-loading: one segment per indexing thread, no 15 s flushes
    assert _auto_commit_ms(solr, summary.collection) == 15000  # the configset's own, once published
    assert summary.segments == {"shard1": 1}


def test_rerun_embeds_nothing_and_rollback_restores_the_previous(solr, settings, catalog, alias):
    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    second = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    assert second.embedded == 0 and second.cache_hits == GOOD
    assert second.previous == first.collection and second.collection != first.collection
    assert cloud.alias_target(solr.client, alias) == second.collection

    was, now = rollback(settings, solr.client, alias)
    assert (was, now) == (second.collection, first.collection)
    assert cloud.alias_target(solr.client, alias) == first.collection


def test_old_collections_beyond_the_kept_number_are_removed(solr, settings, catalog, alias):
    keep_one = settings.model_copy(update={"keep_collections": 1})
    first = reindex(keep_one, solr.client, _options(catalog, alias), show_progress=False)
    second = reindex(keep_one, solr.client, _options(catalog, alias), show_progress=False)
    names = cloud.list_collections(solr.client)
    assert second.collection in names and first.collection not in names
    with pytest.raises(IndexJobError, match="no older collection"):
        rollback(keep_one, solr.client, alias)


def test_a_run_with_nothing_to_index_leaves_the_alias_alone(solr, settings, catalog, alias, tmp_path):
    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    empty = tmp_path / "bad.jsonl"
    empty.write_text('{"id": "x", "image": "nowhere.jpg"}\nnot json\n')
    with pytest.raises(IndexJobError, match="left unchanged"):
        reindex(settings, solr.client, _options(empty, alias), show_progress=False)
    assert cloud.alias_target(solr.client, alias) == first.collection


def test_killed_run_leaves_the_alias_and_resumes_from_the_cache(solr, settings, catalog, alias, tmp_path):
    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    # a fresh cache, so the killed run is slow enough to kill while it embeds
    env = {**os.environ, "LOOKALIKE_DATA_DIR": str(tmp_path / "data"), "LOOKALIKE_SOLR_URL": solr.url,
           "LOOKALIKE_BATCH_SIZE": "4", "LOOKALIKE_MAX_IMAGE_PIXELS": "4000000"}
    cmd = [sys.executable, "-m", "lookalike.cli", "index", str(catalog), "--collection", alias,
           "--model", MODEL, "--dims", str(DIMS), "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    cache_root = tmp_path / "data" / "cache"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(cache_root.rglob("*.vec"))) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()[-500:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert cloud.alias_target(solr.client, alias) == first.collection

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == GOOD
    assert summary["cache_hits"] >= 4 and summary["embedded"] + summary["cache_hits"] == GOOD
    assert cloud.alias_target(solr.client, alias) == summary["collection"] != first.collection


def test_a_write_the_cluster_fails_says_the_alias_is_unchanged_and_the_rerun_resumes(solr, settings, catalog, alias,
                                                                                      monkeypatch):
    """The cluster fails the write stage (as a dead node does once the writer's retries run out)."""
    import indexer.reindex as reindex_module
    from lookalike.errors import SolrUnavailable

    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    real_write = reindex_module.write_docs

    def failing_write(client, collection, docs):
        raise SolrUnavailable("Solr cannot serve products right now: No registered leader was found")

    monkeypatch.setattr(reindex_module, "write_docs", failing_write)
    with pytest.raises(IndexJobError) as failed:
        reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    message = str(failed.value)
    assert f"alias {alias} was left unchanged (still {first.collection})" in message
    assert "run the same command again" in message and "No registered leader" in message
    assert cloud.alias_target(solr.client, alias) == first.collection
    monkeypatch.setattr(reindex_module, "write_docs", real_write)
    again = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    assert again.resumed and again.collection in message  # into the collection the failed run made
    assert cloud.alias_target(solr.client, alias) == again.collection != first.collection


def test_upsert_and_delete_against_the_live_alias(solr, settings, catalog, alias, tmp_path):
    reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    rows = [json.loads(line) for line in catalog.read_text().splitlines()[:2]]
    rows[0]["title"] = "Renamed product"
    rows[1]["id"] = "new-product"
    update = catalog.parent / "update.jsonl"
    update.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"id": "broken", "image": "images/text.jpg"}\n')

    summary = upsert(settings, solr.client, update, alias=alias)
    assert (summary.indexed, summary.failed) == (2, 1)
    got = solr.client.get(f"{alias}/get", {"id": [rows[0]["id"], "new-product"], "fl": "id,title,vector"})
    docs = {d["id"]: d for d in got["response"]["docs"]}
    assert docs[rows[0]["id"]]["title"] == "Renamed product"
    assert len(docs["new-product"]["vector"]) == DIMS
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD + 1

    deleted, missing = delete(settings, solr.client, ["new-product", "no-such-id"], alias=alias)
    assert (deleted, missing) == (["new-product"], ["no-such-id"])
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD


def test_upsert_that_moves_a_product_to_another_design_leaves_one_copy(solr, settings, catalog, alias):
    """On 3 shards routed by group, a new group sends the product to another shard: the old copy goes."""
    reindex(settings, solr.client, _options(catalog, alias, shards=3), show_progress=False)
    rows = [json.loads(line) for line in catalog.read_text().splitlines()[:GOOD]]
    update = catalog.parent / "move.jsonl"
    moved = [dict(r, group=f"moved-{i}") for i, r in enumerate(rows[:6])]
    update.write_text("".join(json.dumps(r) + "\n" for r in moved))
    assert upsert(settings, solr.client, update, alias=alias).indexed == len(moved)
    for r in moved:
        found = solr.client.select(alias, {"q": f'id:"{r["id"]}"', "fl": "id,group"})["response"]
        assert found["numFound"] == 1 and found["docs"][0]["group"] == r["group"], r["id"]
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD
    deleted, _ = delete(settings, solr.client, [moved[0]["id"]], alias=alias)  # one id
    assert deleted == [moved[0]["id"]]
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD - 1


def test_an_index_built_with_random_weights_is_marked_and_warns(solr, settings, alias, tmp_path, monkeypatch):
    # InceptionV3's weights are not on this machine (no Keras cache, no file, no network):
    # only the test-only switch lets it fall back to random weights, and the index says so.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    small = generate(tmp_path / "small", 6, seed=5)
    options = ReindexOptions(catalog=small, alias=alias, model="inception_v3", dims=4, allow_random_weights=True)
    summary = reindex(settings, solr.client, options, show_progress=False)
    assert any("RANDOM" in w for w in summary.warnings)
    record = live_record(settings, solr.client, alias)
    assert record.random_weights and record.warning()

    # a command that reads the index says so
    some_id = json.loads(small.read_text().splitlines()[0])["id"]
    env = {**os.environ, "LOOKALIKE_SOLR_URL": solr.url, "LOOKALIKE_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "lookalike.cli", "similar", some_id, "--collection", alias, "-k", "3"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    assert "RANDOM model weights" in out.stderr
    # ... and so do the merchandising commands whose results come from the vectors
    out = subprocess.run([sys.executable, "-m", "lookalike.cli", "gaps", "color", "--collection", alias],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    assert "RANDOM model weights" in out.stderr


def test_a_small_catalog_indexes_with_the_defaults_at_the_width_it_allows(solr, settings, catalog, alias):
    """With every default (width 384, framing, power 0.5, the adaptation) a 24-product catalog
    is indexed at 23 dims, and says so; the recipe reaches the record and the stored transform."""
    options = ReindexOptions.from_settings(settings, catalog=catalog, alias=alias)
    summary = reindex(settings, solr.client, options, show_progress=False)
    assert summary.dims == GOOD - 1
    assert any(f"default PCA width 384 needs more than {GOOD} images" in w for w in summary.warnings)
    assert f"vectors: {GOOD - 1}-d" in summary.to_text()
    record = live_record(settings, solr.client, alias)
    assert record.dims == GOOD - 1 and record.model == "efficientnet_lite0"
    assert (record.recipe["power"], record.recipe["shrinkage"], record.recipe["adapt"]) == (0.5, 0.1, True)
    assert record.recipe["embedding"]["trim"] is True
    reducer = MetadataStore(solr.client, settings).get_pca(record.pca_version)
    m = reducer.manifest_
    assert (m["power"], m["shrinkage"], m["adapt"], m["model"]) == (0.5, 0.1, True, "efficientnet_lite0+trim")
    assert cloud.vector_dims(solr.client, summary.collection) == GOOD - 1
    with pytest.raises(IndexJobError, match=f"choose at most {GOOD - 1}"):
        reindex(settings, solr.client, ReindexOptions(catalog=catalog, alias=alias, model=MODEL, dims=GOOD),
                show_progress=False)


def test_embedding_options_key_the_cache_reach_the_record_and_the_photo_path_reproduces_them(
        solr, settings, catalog, alias):
    from indexer.models.options import EmbeddingOptions
    from indexer.photo_vectors import PhotoEmbedder
    from query.live_index import LiveIndex

    chosen = EmbeddingOptions(trim=True, pooling="gem")
    summary = reindex(settings, solr.client, _options(catalog, alias, embedding=chosen, whiten=True, power=0.5),
                      show_progress=False)
    assert summary.indexed == GOOD
    assert list(settings.cache_dir.glob("efficientnet_lite0+trim+gem3-*")), "the options are part of the cache key"
    record = live_record(settings, solr.client, alias)
    assert EmbeddingOptions.from_record(record.recipe) == chosen
    reducer = MetadataStore(solr.client, settings).get_pca(record.pca_version)
    assert reducer.manifest_["model"] == "efficientnet_lite0+trim+gem3"

    # an uploaded photo of a product goes through the same framing, pooling and transform
    row = json.loads(catalog.read_text().splitlines()[0])
    photo = (catalog.parent / row["image"]).read_bytes()
    vec = PhotoEmbedder(settings.model_copy(update={"alias": alias}), solr.client,
                        LiveIndex(settings.model_copy(update={"alias": alias}), solr.client).record).embed_query_image(photo)
    stored = solr.client.get(f"{alias}/get", {"id": row["id"], "fl": "id,vector,model"})["doc"]
    assert stored["model"] == "efficientnet_lite0+trim+gem3"
    assert float(np.dot(vec, stored["vector"])) > 0.9999


def test_the_adaptation_is_fitted_on_augmented_views_and_they_are_cached(solr, settings, catalog, alias):
    first = reindex(settings, solr.client, ReindexOptions(catalog=catalog, alias=alias, model=MODEL, dims=12, adapt=True, power=0.5,
                                                      shrinkage=0.2),
                    show_progress=False)
    assert first.adapted_views == (GOOD, GOOD) and not any("augmented" in w for w in first.warnings)
    assert f"adapted on {GOOD} augmented views ({GOOD} embedded now)" in first.to_text()
    assert "adapt" in first.seconds_by_stage
    record = live_record(settings, solr.client, alias)
    assert record.recipe["adapt"] is True
    reducer = MetadataStore(solr.client, settings).get_pca(record.pca_version)
    assert reducer.manifest_["adapt"] is True and reducer.manifest_["method"].startswith(f"learned_whitening(views={GOOD}")
    docs = solr.client.select(alias, {"q": "*:*", "rows": 100, "fl": "id,vector,group"})["response"]["docs"]
    vectors = np.array([d["vector"] for d in docs])
    assert vectors.shape == (GOOD, 12)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    again = reindex(settings, solr.client, ReindexOptions(catalog=catalog, alias=alias, model=MODEL, dims=12, adapt=True, power=0.5,
                                                      shrinkage=0.2),
                    show_progress=False)
    assert again.adapted_views == (GOOD, 0)
    assert again.pca_version == first.pca_version  # the same views: the same transform


def test_an_onnx_model_indexes_and_the_photo_path_reloads_it_from_the_record(solr, settings, catalog, alias,
                                                                             tmp_path):
    from indexer.models.lite_onnx import export
    from indexer.photo_vectors import PhotoEmbedder
    from query.live_index import LiveIndex

    manifest = export(tmp_path / "byo")
    summary = reindex(settings, solr.client, ReindexOptions(catalog=catalog, alias=alias, model=f"onnx:{manifest}",
                                                            dims=8), show_progress=False)
    assert summary.indexed == GOOD
    assert list(settings.cache_dir.glob("onnx-efficientnet_lite0-onnx-*"))
    record = live_record(settings, solr.client, alias)
    assert record.model == f"onnx:{manifest}" and len(record.weights_sha256) == 64
    row = json.loads(catalog.read_text().splitlines()[3])
    served = settings.model_copy(update={"alias": alias})
    vec = PhotoEmbedder(served, solr.client, LiveIndex(served, solr.client).record).embed_query_image(
        (catalog.parent / row["image"]).read_bytes())
    stored = solr.client.get(f"{alias}/get", {"id": row["id"], "fl": "id,vector"})["doc"]
    assert float(np.dot(vec, stored["vector"])) > 0.9999


def test_an_int8_index_is_found_by_its_own_photos_embedded_with_int8(solr, settings, catalog, alias):
    """The onnx-int8 runtime end to end: its own identity in the cache, the PCA and the record,
    and a photo search embeds with int8 because the record says so, whatever this process's runtime."""
    from indexer.models.options import EmbeddingOptions
    from indexer.photo_vectors import PhotoEmbedder
    from query.live_index import LiveIndex

    summary = reindex(settings, solr.client, _options(catalog, alias, embedding=EmbeddingOptions(runtime="onnx-int8")),
                      show_progress=False)
    assert summary.indexed == GOOD
    assert list(settings.cache_dir.glob(f"{MODEL}+int8-*"))
    assert list((settings.data_dir / "models").glob(f"{MODEL}-*-int8-r*.onnx"))
    record = live_record(settings, solr.client, alias)
    assert record.model == MODEL and record.recipe["embedding"]["runtime"] == "onnx-int8"
    pca = MetadataStore(solr.client, settings).get_pca(record.pca_version)
    assert pca.manifest_["model"] == f"{MODEL}+int8"
    served = settings.model_copy(update={"alias": alias, "model_runtime": "tensorflow"})
    photos = PhotoEmbedder(served, solr.client, LiveIndex(served, solr.client).record)
    rows = [json.loads(line) for line in catalog.read_text().splitlines()[:GOOD]]
    for row in rows[:3]:
        vec = photos.embed_query_image((catalog.parent / row["image"]).read_bytes())
        stored = solr.client.get(f"{alias}/get", {"id": row["id"], "fl": "id,vector"})["doc"]
        assert float(np.dot(vec, stored["vector"])) > 0.9999
        knn = solr.client.select(alias, {"q": local_params("knn", f=VECTOR_FIELD, topK=1, v="$vec"),
                                         "vec": vector_literal(vec), "fl": "id", "rows": 1})
        assert knn["response"]["docs"][0]["id"] == row["id"]
    assert photos.manifest()["model"]["runtime"] == "onnx-int8"
    assert photos.manifest()["model"]["identity"] == f"{MODEL}+int8"


def test_a_failed_runs_collection_is_removed_by_the_next_run_and_good_ones_stay(solr, settings, catalog, alias):
    """A run killed right after creating its collection (before it could note it anywhere)."""
    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    orphan = f"{alias}_20200101000000000"
    cloud.create_collection(solr.client, orphan, dims=DIMS)  # empty, never verified, not served
    second = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    names = set(cloud.list_collections(solr.client))
    assert orphan not in names
    assert {first.collection, second.collection} <= names  # keep_collections=2: both good ones stay
    assert f"removed {orphan}, the collection of a failed run" in second.warnings
    assert cloud.alias_target(solr.client, alias) == second.collection


def test_a_run_killed_while_creating_its_collection_is_recreated_under_the_noted_name(solr, settings, catalog,
                                                                                       alias):
    from indexer.digest import file_sha256
    from indexer.reindex import _RunState

    first = reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    options = _options(catalog, alias)
    state = _RunState(settings.data_dir / "runs" / f"{alias}.json", options, file_sha256(catalog))
    half = f"{alias}_20200101000000001"
    cloud.create_collection(solr.client, half, dims=4)  # the kill came before its vector field was right
    state.save(half)
    summary = reindex(settings, solr.client, options, show_progress=False)
    assert summary.collection == half and not summary.resumed
    assert cloud.vector_dims(solr.client, half) == DIMS
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD
    assert first.collection in cloud.list_collections(solr.client)


def test_upsert_keeps_each_attribute_in_the_type_the_catalog_has(solr, settings, catalog, alias, tmp_path):
    reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    rows = [json.loads(line) for line in catalog.read_text().splitlines()[:3]]
    before = solr.client.select(alias, {"q": "*:*", "fq": "tags_ss:[* TO *]", "rows": 0})["response"]["numFound"]
    rows[0]["tags"] = "summer"  # a string where the catalog has lists of strings: coerced
    rows[1]["rating"] = "high"  # a string where the catalog has numbers: refused
    rows[2]["rating"] = 4       # an integer where the catalog has numbers: coerced
    update = catalog.parent / "types.jsonl"  # image paths are relative to the catalog
    update.write_text("".join(json.dumps(r) + "\n" for r in rows))

    summary = upsert(settings, solr.client, update, alias=alias)
    assert (summary.indexed, summary.failed, summary.coerced) == (2, 1, 2)
    assert summary.failed_by_reason == {"attribute_type": 1}
    assert any("'tags'" in w and "list of strings (tags_ss)" in w for w in summary.warnings)
    refused = json.loads(Path(summary.report).read_text().splitlines()[0])
    assert refused["id"] == rows[1]["id"] and "a number (rating_d)" in refused["message"]
    count = lambda fq: solr.client.select(alias, {"q": "*:*", "fq": fq, "rows": 0})["response"]["numFound"]  # noqa: E731
    assert count("tags_s:[* TO *]") == 0 and count("rating_s:[* TO *]") == 0 and count("rating_l:[* TO *]") == 0
    assert count("tags_ss:summer") == 1 and count("tags_ss:[* TO *]") == before


def test_delete_with_one_id_and_a_job_where_every_line_fails(solr, settings, catalog, alias, tmp_path):
    reindex(settings, solr.client, _options(catalog, alias), show_progress=False)
    one = json.loads(catalog.read_text().splitlines()[0])["id"]
    assert delete(settings, solr.client, [one], alias=alias) == ([one], [])
    assert solr.client.get(f"{alias}/get", {"id": one})["doc"] is None
    assert delete(settings, solr.client, [one], alias=alias) == ([], [one])

    import zipfile

    archive = tmp_path / "catalog.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("catalog.jsonl", catalog.read_text())
    with pytest.raises(IndexJobError, match="nothing in .* was indexed"):
        upsert(settings, solr.client, archive, alias=alias)
    env = {**os.environ, "LOOKALIKE_DATA_DIR": str(settings.data_dir), "LOOKALIKE_SOLR_URL": solr.url}
    out = subprocess.run([sys.executable, "-m", "lookalike.cli", "upsert", str(archive), "--collection", alias],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "all" in out.stderr and "failed" in out.stderr, out.stderr[-500:]
    assert solr.client.select(alias, {"q": "*:*", "rows": 0})["response"]["numFound"] == GOOD - 1

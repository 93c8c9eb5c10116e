"""Quantized HNSW vectors (int7, int4) on a real Solr: the plugin's field type and codec.

A collection created with ``quantization`` gets the plugin's ``QuantizedDenseVectorField`` for
every image field, written by ``LookalikeCodecFactory`` in Lucene's scalar quantized HNSW format.
Checked here: the format's files are on disk beside the float vectors, HNSW on the quantized
copies finds nearly what exact search finds (recall@10 against numpy), the exact plugin path
still answers the float32 cosines, similar-by-id works in every mode, bad values are refused
with a sentence, and the real indexer builds, records and reports a quantized collection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import api_catalog

from benchmarks.quantization import index_size
from indexer.demo_catalog import generate
from indexer.meta import MetadataStore
from indexer.reindex import ReindexOptions, reindex
from lookalike.errors import BadRequest, LookalikeError
from lookalike.solr import cloud, cluster, segments
from lookalike.solr_syntax import local_params, vector_literal
from query.client import SearchService
from query.models import SimilarRequest

pytestmark = pytest.mark.integration

N, DIMS, K, QUERIES = 3000, 64, 10, 60


def _vectors(seed: int = 5) -> np.ndarray:
    """Random-ish unit vectors: loose clusters, as image embeddings have, not pure noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(60, DIMS))
    v = centres[rng.integers(0, len(centres), N)] + 1.2 * rng.normal(size=(N, DIMS))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


VECTORS = _vectors()


@pytest.fixture(scope="module", params=["int7", "int4"])
def quantized(request, solr):
    name = f"t_quant_{request.param}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    cloud.create_collection(solr.client, name, dims=DIMS, quantization=request.param, image_fields=2)
    docs = [{"id": f"q{i:04d}", "group": f"g{i:04d}", "vector": v.tolist(), "vector_1": v.tolist()}
            for i, v in enumerate(VECTORS)]
    for start in range(0, N, 500):
        solr.client.add(name, docs[start:start + 500], commit=False)
    solr.client.commit(name)
    segments.force_merge(solr.client, name, 1)
    try:
        yield name, request.param
    finally:
        cloud.delete_collection(solr.client, name)


def _exact_top(i: int, k: int = K) -> list[str]:
    sims = VECTORS @ VECTORS[i]
    return [f"q{j:04d}" for j in np.argsort(-sims, kind="stable")[:k]]


def test_every_image_field_has_the_quantized_type_and_its_files(solr, quantized):
    name, q = quantized
    assert cloud.vector_layout(solr.client, name) == (DIMS, q)
    fields = {f["name"]: f["type"] for f in solr.client.get(f"{name}/schema/fields")["fields"]}
    assert fields["vector"] == fields["vector_1"] == f"knn_vector_{DIMS}_{q}"
    size = index_size(solr.client, name)
    assert size["segments"] == 1
    # the quantized copy (.veq) beside the float vectors (.vec): 1 byte (int7) or half a byte (int4) a dimension
    assert size["bytes_by_extension"]["vec"] >= 2 * N * DIMS * 4  # two fields of float32
    veq = size["bytes_by_extension"]["veq"]
    per_dim = 1.0 if q == "int7" else 0.5
    assert 2 * N * DIMS * per_dim <= veq < 2 * N * (DIMS * per_dim + 16), size
    status = cluster.status(solr.settings).collections[name]
    assert status["vectors"] == {"dims": DIMS, "quantization": q}


def test_hnsw_on_quantized_vectors_finds_what_exact_search_finds(solr, quantized):
    name, q = quantized
    rng = np.random.default_rng(1)
    found = 0
    for i in rng.choice(N, QUERIES, replace=False):
        params = {"q": local_params("knn", f="vector", topK=K, v="$vec"), "vec": vector_literal(VECTORS[i]),
                  "rows": K, "fl": "id"}
        got = [d["id"] for d in solr.client.select(name, params)["response"]["docs"]]
        found += len(set(got) & set(_exact_top(i)))
    recall = found / (QUERIES * K)
    print(f"{q}: HNSW recall@10 against exact on {N} x {DIMS}: {recall:.3f}")
    # measured 0.92 (int7) and 0.85 (int4) here, {!knn} alone (no rescoring: the quantized
    # scores rank the top 10). A quantizer that scrambled the vectors would be near 10 / 3000.
    assert recall >= (0.85 if q == "int7" else 0.75), recall


@pytest.mark.parametrize("mode", ["auto", "approx", "exact"])
def test_similar_by_id_works_in_every_mode_and_answers_float_cosines(solr, quantized, mode):
    name, q = quantized
    svc = SearchService(solr.settings, solr.client, collection=name, exact_max_docs=1000)
    i = 123
    resp = svc.similar(SimilarRequest(id=f"q{i:04d}", k=K, mode=mode))
    got = [p.id for p in resp.products]
    want = [w for w in _exact_top(i, K + 1) if w != f"q{i:04d}"][:K]
    assert len(got) == K
    # both paths answer float32 cosines: the exact scan reads the floats, and HNSW's candidates
    # (searched on the quantized copies) are rescored from them
    sims = VECTORS @ VECTORS[i]
    for p in resp.products:
        assert abs(p.similarity - float(sims[int(p.id[1:])])) < 1e-4, p
    assert [p.similarity for p in resp.products] == sorted((p.similarity for p in resp.products), reverse=True)
    if resp.mode == "exact":
        assert got == want
    else:
        assert f"on the {q} copies, the candidates rescored with the float32 vectors" in resp.mode_reason
        assert len(set(got) & set(want)) >= 9, (got, want)
    if mode != "auto":
        assert resp.mode == mode


def test_the_exact_scan_reads_the_float_vectors_in_place(solr, quantized):
    """The quantized format keeps the float32 .vec file; the plugin unwraps Lucene's quantized
    values to read it in place (explain names the path; Java 22+ with the Vector API, as
    lookalike's launcher runs Solr)."""
    name, _ = quantized
    params = {"q": local_params("lookalike", f="vector", like="q0123", mode="exact"), "rows": 1, "fl": "id",
              "debugQuery": "true"}
    explain = next(iter(solr.client.select(name, params)["debug"]["explain"].values()))
    assert "vectors read in place from the mmapped index file" in str(explain), explain


def test_a_bad_quantization_is_refused_with_a_sentence(solr, collection_factory):
    with pytest.raises(BadRequest, match="must be one of none, int7, int4, got 'int8'"):
        cloud.vector_field_type(8, quantization="int8")
    with pytest.raises(BadRequest, match="int8"):
        cloud.create_collection(solr.client, "never_int8", dims=8, quantization="int8")
    assert "never_int8" not in cloud.list_collections(solr.client)
    # Solr itself (a hand-made schema) answers 400 with the plugin's sentence
    name = collection_factory(dims=4)
    bad = {**cloud.vector_field_type(8, quantization="int7"), "name": "bad_q", "quantization": "int8"}
    with pytest.raises(LookalikeError) as err:
        solr.client.post(f"{name}/schema", {}, json_body={"add-field-type": bad})
    assert getattr(err.value, "solr_status", None) == 400 or "400" in str(err.value), err.value
    assert "quantization must be one of int7, int4, got 'int8'" in str(err.value)
    odd = {**cloud.vector_field_type(8, quantization="int4"), "name": "odd_q", "vectorDimension": 7}
    with pytest.raises(LookalikeError) as err:
        solr.client.post(f"{name}/schema", {}, json_body={"add-field-type": odd})
    assert "needs an even vectorDimension, got 7" in str(err.value)
    env = {**os.environ, "LOOKALIKE_VECTOR_QUANTIZATION": "int8", "LOOKALIKE_DATA_DIR": str(solr.settings.data_dir)}
    out = subprocess.run([sys.executable, "-m", "lookalike.cli", "index", "nowhere.jsonl"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert "LOOKALIKE_VECTOR_QUANTIZATION" in out.stderr and "'int7'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


# -- the real indexer ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("quant-catalog"), 24, seed=11)


@pytest.fixture(scope="module")
def settings(solr, tmp_path_factory):
    return solr.settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("quant-data"), "batch_size": 8})


@pytest.mark.parametrize("q", ["int7", "int4"])
def test_the_indexer_builds_records_and_reports_a_quantized_collection(solr, settings, catalog, q):
    alias = f"rq_{q}"
    options = ReindexOptions.from_settings(settings.model_copy(update={"vector_quantization": q}), catalog=catalog,
                                           alias=alias, model="efficientnet_lite0", dims=16)
    assert options.quantization == q
    try:
        summary = reindex(settings, solr.client, options, show_progress=False)
        assert summary.quantization == q and f"HNSW on {q}-quantized copies" in summary.to_text()
        assert cloud.vector_layout(solr.client, summary.collection) == (16, q)
        record = MetadataStore(solr.client, settings).index_record(summary.collection)
        assert record.recipe["quantization"] == q
        again = reindex(settings, solr.client, ReindexOptions.from_settings(
            settings, catalog=catalog, alias=alias, model="efficientnet_lite0", dims=16, quantization=q,
            if_changed=True), show_progress=False)
        assert again.skipped
        svc = SearchService(settings.model_copy(update={"alias": alias}), solr.client)
        some = solr.client.select(alias, {"q": "*:*", "rows": 1, "fl": "id"})["response"]["docs"][0]["id"]
        answers = {mode: [p.id for p in svc.similar(SimilarRequest(id=some, k=5, mode=mode)).products]
                   for mode in ("auto", "approx", "exact")}
        assert all(len(ids) == 5 and some not in ids for ids in answers.values()), answers
        assert len(set(answers["approx"]) & set(answers["exact"])) >= 4, answers
        float_again = ReindexOptions.from_settings(settings, catalog=catalog, alias=alias, model="efficientnet_lite0",
                                                   dims=16, if_changed=True)
        assert float_again.quantization == "none" and "quantization" not in float_again.recipe()
        assert float_again.recipe() != options.recipe()  # so --if-changed rebuilds a float index
    finally:
        api_catalog.drop_alias(solr.client, alias)

"""{!knn} with a filter returns exactly the nearest neighbours numpy computes, in order."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.integration

N_DOCS = 60
DIMS = 4
K = 5


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def _index(solr, collection: str, vectors: np.ndarray) -> list[dict]:
    docs = [
        {
            "id": f"p{i:03d}",
            "title": f"product {i}",
            "vector": [float(x) for x in vectors[i]],
            "in_stock": bool(i % 3 != 0),
            "color_s": ("red", "blue")[i % 2],
        }
        for i in range(len(vectors))
    ]
    solr.client.add(collection, docs, commit=True)
    return docs


def _expected(docs: list[dict], vectors: np.ndarray, query: np.ndarray, keep) -> list[tuple[str, float]]:
    idx = [i for i, d in enumerate(docs) if keep(d)]
    sims = vectors[idx] @ query
    order = np.argsort(-sims)[:K]
    # Lucene's dot_product score for unit vectors is (1 + cosine) / 2
    return [(docs[idx[j]]["id"], float((1 + sims[j]) / 2)) for j in order]


@pytest.mark.parametrize("shards", [1, 2])
def test_knn_with_filter_matches_numpy(solr, collection_factory, shards):
    rng = np.random.default_rng(20 + shards)
    vectors = _unit(rng.normal(size=(N_DOCS, DIMS)))
    name = collection_factory(dims=DIMS, shards=shards)
    docs = _index(solr, name, vectors)

    for _ in range(5):
        query = _unit(rng.normal(size=DIMS))
        for fq, keep in [
            ("in_stock:true", lambda d: d["in_stock"]),
            ("color_s:blue", lambda d: d["color_s"] == "blue"),
        ]:
            resp = solr.client.select(
                name,
                {
                    "q": "{!knn f=vector topK=%d}[%s]" % (K, ",".join(repr(float(x)) for x in query)),
                    "fq": fq,
                    "fl": "id,score",
                    "rows": K,
                },
            )
            got = [(d["id"], d["score"]) for d in resp["response"]["docs"]]
            want = _expected(docs, vectors, query, keep)
            assert [g[0] for g in got] == [w[0] for w in want], f"fq={fq}"
            assert [g[1] for g in got] == pytest.approx([w[1] for w in want], abs=1e-5)


def test_unfiltered_knn_returns_the_query_document_first(solr, collection_factory):
    rng = np.random.default_rng(7)
    vectors = _unit(rng.normal(size=(N_DOCS, DIMS)))
    name = collection_factory(dims=DIMS)
    docs = _index(solr, name, vectors)
    target = 17
    resp = solr.client.select(
        name,
        {"q": "{!knn f=vector topK=3}" + str([float(x) for x in vectors[target]]), "fl": "id,score", "rows": 3},
    )
    top = resp["response"]["docs"][0]
    assert top["id"] == docs[target]["id"]
    assert top["score"] == pytest.approx(1.0, abs=1e-5)

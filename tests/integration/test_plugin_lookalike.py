"""{!lookalike} through Solr's HTTP API gives numpy's exact answer, on one shard and on two.

The catalog is small and hand-made: unit vectors (the ``vector`` field is ``dot_product``),
a few documents without a vector, colours and titles to filter on, groups of three to collapse.
Every expectation is computed here with numpy from the same vectors: similarity in cosine
units, score ``(1 + similarity) / 2`` (Lucene's scale for dot-product fields).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from lookalike.solr import cloud

pytestmark = pytest.mark.integration

N_DOCS = 150
DIMS = 8
NO_VECTOR_EVERY = 25  # p000, p025, ... have no vector
WORDS = ("shirt", "dress", "shoe", "hat")
COLORS = ("red", "blue", "green")


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def score_of(sim: np.ndarray | float) -> np.ndarray:
    return np.maximum(0.0, (1.0 + np.asarray(sim, dtype=np.float64)) / 2.0)


@dataclass
class Catalog:
    name: str
    shards: int
    ids: list[str]
    vectors: np.ndarray  # float32, unit rows; rows of documents without vector are NaN
    has_vector: np.ndarray
    color: list[str]
    word: list[str]
    group: list[str]

    def row(self, doc_id: str) -> int:
        return self.ids.index(doc_id)

    def similarity(
        self, likes: list[np.ndarray], unlikes: list[np.ndarray] = (), combine: str = "mean", weight: float = 1.0
    ) -> np.ndarray:
        """Cosine-unit similarity of every document (NaN without vector), the obvious way."""
        v = self.vectors.astype(np.float64)
        pos_targets = unit(np.asarray(likes, dtype=np.float64))
        if combine == "mean":
            pos = v @ unit(pos_targets.mean(axis=0))
        else:
            pos = (v @ pos_targets.T).max(axis=1)
        if len(unlikes):
            pos = pos - weight * (v @ unit(np.asarray(unlikes, dtype=np.float64)).T).max(axis=1)
        return pos


def _catalog(solr, name: str, shards: int) -> Catalog:
    rng = np.random.default_rng(500 + shards)
    vectors = unit(rng.normal(size=(N_DOCS, DIMS))).astype(np.float32)
    ids = [f"p{i:03d}" for i in range(N_DOCS)]
    has_vector = np.array([i % NO_VECTOR_EVERY != 0 for i in range(N_DOCS)])
    color = [COLORS[i % 3] for i in range(N_DOCS)]
    word = [WORDS[i % 4] for i in range(N_DOCS)]
    group = [f"g{i // 3:02d}" for i in range(N_DOCS)]
    docs = []
    for i in range(N_DOCS):
        doc = {"id": ids[i], "title": f"{color[i]} {word[i]}", "color_s": color[i], "group": group[i]}
        if has_vector[i]:
            doc["vector"] = [float(x) for x in vectors[i]]
        docs.append(doc)
    solr.client.add(name, docs, commit=True)
    vectors = vectors.copy()
    vectors[~has_vector] = np.nan
    return Catalog(name, shards, ids, vectors, has_vector, color, word, group)


@pytest.fixture(scope="module", params=[1, 2], ids=["1shard", "2shards"])
def catalog(solr, request) -> Catalog:
    """One collection per shard count for the whole module (creating one takes seconds)."""
    name = f"t_plugin_{request.param}shard_{id(request) % 100000}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=request.param)
    try:
        yield _catalog(solr, name, request.param)
    finally:
        cloud.delete_collection(solr.client, name)


def select(solr, catalog: Catalog, **params) -> dict:
    params.setdefault("fl", "id,score")
    params.setdefault("rows", N_DOCS)
    return solr.client.select(catalog.name, params)


def vec(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def ranked(sims: np.ndarray, keep: np.ndarray | None = None) -> list[int]:
    """Rows with a vector (and ``keep``), best first."""
    ok = ~np.isnan(sims) if keep is None else (~np.isnan(sims) & keep)
    rows = np.flatnonzero(ok)
    return [int(r) for r in rows[np.argsort(-sims[rows], kind="stable")]]


def gap_threshold(sims: np.ndarray, near: float) -> float:
    """A threshold near ``near`` with no similarity within 1e-3 of it, so rounding cannot decide."""
    values = np.sort(sims[~np.isnan(sims)])
    gaps = [(abs((a + b) / 2 - near), (a + b) / 2) for a, b in zip(values, values[1:]) if b - a > 2e-3]
    return float(min(gaps)[1])


def assert_like_numpy(catalog: Catalog, resp: dict, sims: np.ndarray, want_rows: list[int]) -> None:
    """Same documents as numpy, each with its own score, in score order (ties may swap)."""
    docs = resp["response"]["docs"]
    got_ids = [d["id"] for d in docs]
    assert sorted(got_ids) == sorted(catalog.ids[r] for r in want_rows)
    for d in docs:
        assert d["score"] == pytest.approx(float(score_of(sims[catalog.row(d["id"])])), abs=1e-5), d["id"]
    assert [d["score"] for d in docs] == pytest.approx([float(score_of(sims[r])) for r in want_rows], abs=1e-5)


def test_inline_vector_ranks_every_vector_like_numpy(solr, catalog):
    target = unit(np.random.default_rng(1).normal(size=DIMS))
    sims = catalog.similarity([target])
    resp = select(solr, catalog, q="{!lookalike f=vector}" + vec(target))
    want = ranked(sims)
    assert resp["response"]["numFound"] == int(catalog.has_vector.sum())
    assert_like_numpy(catalog, resp, sims, want)
    # the same through the vector parameter, with a top-K cut
    resp = select(solr, catalog, q="{!lookalike f=vector vector=$qv}", qv=vec(target), rows=10)
    assert_like_numpy(catalog, resp, sims, want[:10])


@pytest.mark.parametrize("combine", ["mean", "max"])
def test_like_ids_read_the_stored_vectors(solr, catalog, combine):
    like = ["p007", "p052", "p101"]
    sims = catalog.similarity([catalog.vectors[catalog.row(i)] for i in like], combine=combine)
    resp = select(solr, catalog, q=f"{{!lookalike f=vector like={','.join(like)} combine={combine}}}", rows=20)
    assert_like_numpy(catalog, resp, sims, ranked(sims)[:20])


def test_like_ids_from_every_shard_are_found(solr, catalog):
    """Each shard reads the examples it has and fetches the others' (one distributed get)."""
    shards = {d["id"]: d["[shard]"] for d in select(solr, catalog, q="*:*", fl="id,[shard]")["response"]["docs"]}
    like = sorted({min(i for i in catalog.ids[1:] if shards[i] == s) for s in set(shards.values())})
    assert len(like) == catalog.shards
    sims = catalog.similarity([catalog.vectors[catalog.row(i)] for i in like], combine="max")
    resp = select(solr, catalog, q=f"{{!lookalike f=vector like={','.join(like)} combine=max}}", fl="id,score,[shard]")
    assert_like_numpy(catalog, resp, sims, ranked(sims))
    assert {d["[shard]"] for d in resp["response"]["docs"]} == set(shards.values())


@pytest.mark.parametrize("mode", ["exact", "approx"])
def test_exclude_examples_leaves_them_out_and_the_page_full(solr, catalog, mode):
    """``excludeExamples=true``: the like and unlike documents are not in the answer (left out
    after the search), and HNSW asks for as many more, so topK=rows still fills the page."""
    like, unlike = ["p007", "p052"], ["p101"]
    sims = catalog.similarity([catalog.vectors[catalog.row(i)] for i in like])
    q = f"{{!lookalike f=vector like={','.join(like)} mode={mode} topK=6"
    with_them = select(solr, catalog, q=q + "}", rows=6)["response"]["docs"]
    assert {"p007", "p052"} & {d["id"] for d in with_them}  # an example is among its own nearest
    resp = select(solr, catalog, q=q + " excludeExamples=true}", rows=6)
    keep = np.array([i not in like for i in catalog.ids])
    assert_like_numpy(catalog, resp, sims, ranked(sims, keep)[:6])
    # the unlike examples are left out as well (exact: unlike is exact-only)
    resp = select(solr, catalog, q=f"{{!lookalike f=vector like=p007 unlike={unlike[0]} excludeExamples=true}}", rows=N_DOCS)
    got = {d["id"] for d in resp["response"]["docs"]}
    assert not got & {"p007", unlike[0]}
    assert len(got) == int(catalog.has_vector.sum()) - 2


def test_like_and_unlike_with_a_threshold(solr, catalog):
    like, unlike = ["p011", "p012"], ["p013"]
    sims = catalog.similarity(
        [catalog.vectors[catalog.row(i)] for i in like],
        [catalog.vectors[catalog.row(i)] for i in unlike],
        combine="mean",
        weight=0.7,
    )
    t = gap_threshold(sims, 0.1)
    resp = select(solr, catalog, q=f"{{!lookalike f=vector like=p011,p012 unlike=p013 unlikeWeight=0.7 minSimilarity={t}}}")
    want = [r for r in ranked(sims) if sims[r] >= t]
    assert 5 < len(want) < int(catalog.has_vector.sum()) - 5
    assert resp["response"]["numFound"] == len(want)
    assert_like_numpy(catalog, resp, sims, want)


def test_threshold_set_and_its_facet_counts_equal_numpy(solr, catalog):
    target = catalog.vectors[catalog.row("p040")]
    sims = catalog.similarity([target])
    t = gap_threshold(sims, 0.3)
    resp = select(
        solr, catalog, q=f"{{!lookalike f=vector like=p040 minSimilarity={t}}}", rows=0,
        facet="true", **{"facet.field": "color_s", "facet.mincount": 1},
    )
    want = [r for r in ranked(sims) if sims[r] >= t]
    assert resp["response"]["numFound"] == len(want)
    flat = resp["facet_counts"]["facet_fields"]["color_s"]
    assert dict(zip(flat[::2], flat[1::2])) == dict(Counter(catalog.color[r] for r in want))


@pytest.mark.parametrize("cache", ["false", "true"])
def test_as_filter_query_under_a_text_query(solr, catalog, cache):
    sims = catalog.similarity([catalog.vectors[catalog.row("p021")]])
    t = gap_threshold(sims, 0.2)
    resp = select(
        solr, catalog, q="title:shirt", fq=f"{{!lookalike f=vector like=p021 minSimilarity={t} cache={cache} cost=200}}"
    )
    is_shirt = np.array([w == "shirt" for w in catalog.word])
    want = {catalog.ids[r] for r in ranked(sims, is_shirt) if sims[r] >= t}
    assert 0 < len(want) < int(is_shirt.sum())
    assert {d["id"] for d in resp["response"]["docs"]} == want


def test_a_filter_limits_the_ranking(solr, catalog):
    target = unit(np.random.default_rng(2).normal(size=DIMS))
    sims = catalog.similarity([target])
    resp = select(solr, catalog, q="{!lookalike f=vector}" + vec(target), fq="color_s:red", rows=10)
    is_red = np.array([c == "red" for c in catalog.color])
    assert resp["response"]["numFound"] == int((is_red & catalog.has_vector).sum())
    assert_like_numpy(catalog, resp, sims, ranked(sims, is_red)[:10])


def test_inside_a_boolean_query_with_text(solr, catalog):
    target = unit(np.random.default_rng(3).normal(size=DIMS))
    sims = catalog.similarity([target])
    t = gap_threshold(sims, 0.0)
    resp = select(solr, catalog, q="+title:dress +{!lookalike f=vector v=$qv minSimilarity=$t}", qv=vec(target), t=t)
    is_dress = np.array([w == "dress" for w in catalog.word])
    assert {d["id"] for d in resp["response"]["docs"]} == {catalog.ids[r] for r in ranked(sims, is_dress) if sims[r] >= t}


@pytest.mark.parametrize("shards", [1, 2])
def test_collapse_keeps_each_groups_most_similar(solr, collection_factory, shards):
    """{!collapse} needs a group's documents on one shard: ids are routed by group ("g05!p015")."""
    rng = np.random.default_rng(40 + shards)
    vectors = unit(rng.normal(size=(60, DIMS))).astype(np.float32)
    groups = [f"g{i // 4:02d}" for i in range(60)]
    ids = [f"{groups[i]}!p{i:03d}" for i in range(60)]
    name = collection_factory(dims=DIMS, shards=shards)
    solr.client.add(
        name,
        [{"id": ids[i], "group": groups[i], "vector": [float(x) for x in vectors[i]]} for i in range(60)],
        commit=True,
    )
    sims = vectors.astype(np.float64) @ vectors[17].astype(np.float64)
    resp = solr.client.select(
        name, {"q": f"{{!lookalike f=vector like={ids[17]}}}", "fq": "{!collapse field=group}", "fl": "id,score", "rows": 60}
    )
    best: dict[str, int] = {}
    for r in np.argsort(-sims):
        best.setdefault(groups[r], int(r))
    want = sorted(best.values(), key=lambda r: -sims[r])
    docs = resp["response"]["docs"]
    assert [d["id"] for d in docs] == [ids[r] for r in want]
    assert [d["score"] for d in docs] == pytest.approx([float(score_of(sims[r])) for r in want], abs=1e-5)


def test_explain_says_why(solr, catalog):
    sims = catalog.similarity([catalog.vectors[catalog.row("p030")]])
    t = gap_threshold(sims, 0.5)
    resp = select(solr, catalog, q=f"{{!lookalike f=vector like=p030 minSimilarity={t}}}", rows=1, debugQuery="true")
    explain = resp["debug"]["explain"]["p030"]
    assert f"similarity 1.000000 >= minSimilarity {t:.6f}" in explain
    assert "cosine to the target" in explain


BAD = [
    ({"q": "{!lookalike f=vector}[1,0,0]"}, "vector has 3 dimensions but field 'vector' has 8"),
    ({"q": "{!lookalike f=vector}[1,0,0,0,0,0,0,NaN]"}, "vector element 7 is NaN"),
    ({"q": "{!lookalike f=vector}[1,0,0,0,0,0,Infinity,0]"}, "vector element 6 is Infinity"),
    ({"q": "{!lookalike f=vector}[1,0,0,0,0,0,0,x]"}, "vector element 7 is not a number: 'x'"),
    ({"q": "{!lookalike f=vector}[0,0,0,0,0,0,0,0]"}, "vector is all zeros"),
    ({"q": "{!lookalike f=nosuch}[1,0,0,0,0,0,0,0]"}, "unknown field 'nosuch'"),
    ({"q": "{!lookalike f=title}[1,0,0,0,0,0,0,0]"}, "field 'title' is a TextField, not a DenseVectorField"),
    ({"q": "{!lookalike}[1,0,0,0,0,0,0,0]"}, "missing parameter f"),
    ({"q": "{!lookalike f=vector}"}, "needs a target"),
    ({"q": "{!lookalike f=vector like=p001 minSimilarity=1.5}"}, "must be between -1 and 1, got 1.5"),
    ({"q": "{!lookalike f=vector like=p001 minSimilarity=high}"}, "minSimilarity must be a number, got 'high'"),
    ({"q": "{!lookalike f=vector like=p001 minSimilarity=NaN}"}, "minSimilarity must be a finite number, got 'NaN'"),
    ({"q": "{!lookalike f=vector like=p001 unlike=p002 unlikeWeight=lots}"}, "unlikeWeight must be a number, got 'lots'"),
    ({"q": "{!lookalike f=vector unlike=p002}"}, "needs a target"),
    ({"q": "{!lookalike f=vector like=p001 combine=median}"}, "combine must be 'mean' or 'max', got 'median'"),
    ({"q": "{!lookalike f=vector like=p001 unlike=p002 unlikeWeight=-1}"}, "unlikeWeight must be >= 0"),
    ({"q": "{!lookalike f=vector like=p001,,p002}"}, "like has an empty id"),
    ({"q": "{!lookalike f=vector like=nosuch}"}, "like: no document with id 'nosuch'"),
    ({"q": "{!lookalike f=vector like=p001 unlike=nosuch}"}, "unlike: no document with id 'nosuch'"),
    ({"q": "{!lookalike f=vector like=p025}"}, "like: document 'p025' has no vector in field 'vector'"),
    ({"q": "*:*", "fq": "{!lookalike f=vector}[1,2]"}, "vector has 2 dimensions but field 'vector' has 8"),
    ({"q": "{!lookalike f=vector like=p001 mode=fast}"}, "mode must be 'exact', 'approx' or 'auto', got 'fast'"),
    ({"q": "{!lookalike f=vector like=p001 mode=auto exactMaxDocs=-1}"}, "exactMaxDocs must be at least 0, got -1"),
    ({"q": "{!lookalike f=vector like=p001 mode=approx topK=0}"}, "topK must be at least 1, got 0"),
    ({"q": "{!lookalike f=vector like=p001 mode=approx topK=many}"}, "topK must be a whole number, got 'many'"),
    ({"q": "{!lookalike f=vector like=p001 mode=approx topK=20000}"}, "topK must be at most 10000, got 20000"),
    ({"q": "{!lookalike f=vector like=p001 excludeGroups=nosuch}"}, "excludeGroups must name an indexed and stored field"),
    ({"q": "{!lookalike f=vector like=p001 shift=[1,2]}"}, "shift has 2 dimensions but field 'vector' has 8"),
    ({"q": "{!lookalike f=vector like=p001 excludeExamples=yes}"}, "excludeExamples must be true or false, got 'yes'"),
    ({"q": "{!lookalike f=vector like=p001,p002 combine=max mode=approx}"}, "combine=max needs mode=exact"),
    ({"q": "{!lookalike f=vector like=p001,p002 combine=max shift=[1,0,0,0,0,0,0,0]}"}, "shift moves one combined target"),
    ({"q": "{!lookalike f=vector like=p001 minSimilarity=0.5 minTraverse=2}"}, "minTraverse is in cosine units"),
]


@pytest.mark.parametrize("params,message", BAD, ids=[m for _, m in BAD])
def test_each_bad_parameter_is_a_400_that_says_what_to_fix(solr, catalog, params, message):
    from lookalike.errors import SolrRequestError

    with pytest.raises(SolrRequestError) as err:
        select(solr, catalog, **params)
    assert err.value.solr_status == 400
    assert message in str(err.value)

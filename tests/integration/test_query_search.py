"""The query layer against a real Solr: answers equal numpy's, on one shard and on two.

A small catalog of hand-made 8-d unit vectors (200 products in groups of 4, with colours,
sizes, prices, tags, stock, and some hostile attribute values) is indexed once per shard
count. Each test runs :class:`SearchService` and computes the expected answer with numpy.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from lookalike.errors import BadRequest, NotFound
from lookalike.solr import cloud
from query.build import TEXT_SATURATION
from query.client import SearchService
from query.models import SearchRequest, SimilarRequest

pytestmark = pytest.mark.integration

N, DIMS, GROUP = 200, 8, 4
HOSTILE = ['we"ird} {!x} OR *:*', "*:*", "a\\b", "line\nbreak", "$vec", "日本 🙂", "OR", "x) OR (id:*"]
COLORS = ["red", "blue", "green", "light blue"] + HOSTILE
TAGS = ["summer", "winter", "sale", "new"]


def _catalog(seed: int = 11) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N // GROUP, DIMS))
    vectors = np.repeat(centres, GROUP, axis=0) + 0.6 * rng.normal(size=(N, DIMS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = []
    for i in range(N):
        g = f"g{i // GROUP:02d}"
        docs.append(
            {
                "id": f"{g}!p{i:03d}",  # compositeId: a group's products share a shard (collapse needs it)
                "title": f"{['linen', 'wool', 'silk'][i % 3]} {['dress', 'shirt'][i % 2]} {i}",
                "group": g,
                "price": float(5 + (i * 37) % 100),
                "in_stock": i % 3 != 0,
                "color_s": COLORS[(i * 7) % len(COLORS)],
                "size_l": i % 5,
                "tags_ss": [TAGS[i % 4], TAGS[(i // 4) % 4]],
                "vector": vectors[i].tolist(),
            }
        )
    return docs, vectors


DOCS, VECTORS = _catalog()
IDS = [d["id"] for d in DOCS]
POS = {d["id"]: i for i, d in enumerate(DOCS)}


@pytest.fixture(scope="module", params=[1, 2], ids=["1shard", "2shards"])
def service(request, solr):
    name = f"t_query_search_{request.param}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    cloud.create_collection(solr.client, name, dims=DIMS, shards=request.param)
    try:
        solr.client.add(name, DOCS, commit=True)
        yield SearchService(solr.settings, solr.client, collection=name)
    finally:
        cloud.delete_collection(solr.client, name)


def expected(query: np.ndarray, keep=lambda d: True, exclude=()) -> list[tuple[str, float]]:
    """(id, cosine) of every kept product, best first (ties by id, like the service)."""
    sims = VECTORS @ query
    rows = [(DOCS[i]["id"], float(sims[i])) for i in range(N) if keep(DOCS[i]) and DOCS[i]["id"] not in exclude]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def counts(ids, field) -> dict:
    out: dict = {}
    for i in ids:
        v = DOCS[POS[i]][field]
        for x in set(v) if isinstance(v, list) else [v]:
            out[x] = out.get(x, 0) + 1
    return out


def facet_counts(resp, name) -> dict:
    facet = next(f for f in resp.facets if f.name == name)
    return {b.value: b.count for b in facet.buckets}


def plugin_available(service) -> bool:
    try:
        service.client.select(service.collection, {"q": "{!lookalike f=vector vector=$v}", "v": str([1.0] + [0.0] * (DIMS - 1)), "rows": 0})
        return True
    except Exception:
        return False


# -- approx (HNSW) ----------------------------------------------------------------------------


@pytest.mark.parametrize("pid", ["g03!p012", "g31!p125"])
def test_similar_by_id_equals_numpy_with_filters(service, pid):
    query = VECTORS[POS[pid]]
    cases = [
        ([], lambda d: True),
        ([{"field": "color", "values": ["red", "light blue"]}], lambda d: d["color_s"] in ("red", "light blue")),
        ([{"field": "price", "min": 20, "max": 60}], lambda d: 20 <= d["price"] <= 60),
        ([{"field": "size", "values": [1, 3]}, {"field": "tags", "values": ["sale"]}],
         lambda d: d["size_l"] in (1, 3) and "sale" in d["tags_ss"]),
    ]
    for filters, keep in cases:
        resp = service.similar(SimilarRequest(id=pid, k=8, filters=filters, mode="approx"))
        want = expected(query, keep, exclude={pid})[:8]
        assert [p.id for p in resp.products] == [w[0] for w in want], filters
        assert [p.similarity for p in resp.products] == pytest.approx([w[1] for w in want], abs=1e-5)
        assert resp.mode == "approx" and resp.similar_set == "top"


@pytest.mark.parametrize("mode", ["approx", "exact"])
def test_filters_are_a_pre_filter_not_a_post_filter(service, mode):
    # topK = candidates = 5 with a filter that keeps 1 product in 12: a post-filter would leave
    # almost nothing of the 5 nearest overall; a pre-filter finds the 5 nearest green ones
    if mode == "exact" and not plugin_available(service):
        pytest.skip("the {!lookalike} plugin does not answer yet")
    pid = "g16!p066"
    want = expected(VECTORS[POS[pid]], lambda d: d["color_s"] == "green", exclude={pid})[:5]
    resp = service.similar(SimilarRequest(id=pid, k=5, candidates=5, mode=mode,
                                          filters=[{"field": "color", "values": ["green"]}]))
    assert [p.id for p in resp.products] == [w[0] for w in want]
    overall = [w[0] for w in expected(VECTORS[POS[pid]], exclude={pid})[:5]]
    assert len(set(overall) & {w[0] for w in want}) < 5  # the case really tells the two apart


def test_in_stock_paging_and_variants(service):
    pid = "g10!p041"
    query = VECTORS[POS[pid]]
    want = expected(query, lambda d: d["in_stock"], exclude={pid})
    page1 = service.similar(SimilarRequest(id=pid, k=5, in_stock=True, mode="approx"))
    page2 = service.similar(SimilarRequest(id=pid, k=5, offset=5, in_stock=True, mode="approx"))
    assert [p.id for p in page1.products + page2.products] == [w[0] for w in want[:10]]

    ex = service.similar(SimilarRequest(id=pid, k=10, variants="exclude", mode="approx"))
    assert [p.id for p in ex.products] == [w[0] for w in expected(query, lambda d: d["group"] != "g10")[:10]]

    col = service.similar(SimilarRequest(id=pid, k=10, variants="collapse", mode="approx", candidates=30))
    best_per_group: dict = {}
    for i, s in expected(query, exclude={pid}):
        best_per_group.setdefault(DOCS[POS[i]]["group"], (i, s))
    want_col = sorted(best_per_group.values(), key=lambda r: (-r[1], r[0]))[:10]
    assert [p.id for p in col.products] == [w[0] for w in want_col]
    assert len({p.group for p in col.products}) == 10


def test_like_several_and_unlike_in_approx_is_the_rocchio_vector(service):
    like, unlike = ("g01!p005", "g20!p081"), ("g40!p160",)
    q = (VECTORS[POS[like[0]]] + VECTORS[POS[like[1]]]) / 2 - 0.5 * VECTORS[POS[unlike[0]]]
    q = q / np.linalg.norm(q)
    resp = service.search(SearchRequest(like=like, unlike=unlike, unlike_weight=0.5, k=6, mode="approx"))
    want = expected(q, exclude=set(like + unlike))[:6]
    assert [p.id for p in resp.products] == [w[0] for w in want]


def test_inline_vector_from_an_image(service):
    q = np.linspace(-1, 1, DIMS)
    q = q / np.linalg.norm(q)
    resp = service.search(SearchRequest(vector=tuple(q * 3.0), k=5, mode="approx"))  # normalised by the service
    want = expected(q)[:5]
    assert [p.id for p in resp.products] == [w[0] for w in want]
    assert [p.similarity for p in resp.products] == pytest.approx([w[1] for w in want], abs=1e-5)
    with pytest.raises(BadRequest, match="has 3 dimensions but the index has 8"):
        service.search(SearchRequest(vector=(1.0, 0.0, 0.0), mode="approx"))


def test_min_similarity_threshold_set_and_its_facets_are_exact(service):
    pid = "g05!p022"
    query = VECTORS[POS[pid]]
    keep = lambda d: d["price"] <= 80  # noqa: E731
    want = [w for w in expected(query, keep, exclude={pid}) if w[1] >= 0.3]
    resp = service.similar(
        SimilarRequest(
            id=pid, k=10, min_similarity=0.3, mode="approx", filters=[{"field": "price", "max": 80}],
            facets=("color", "tags", "in_stock"), facet_limit=20,
        )
    )
    assert resp.similar_set == "threshold"
    assert resp.total == len(want)
    assert [p.id for p in resp.products] == [w[0] for w in want[:10]]
    ids = [w[0] for w in want]
    assert facet_counts(resp, "color") == counts(ids, "color_s")
    assert facet_counts(resp, "tags") == counts(ids, "tags_ss")
    assert facet_counts(resp, "in_stock") == counts(ids, "in_stock")


def test_facets_over_the_global_top_n_are_exact(service):
    pid = "g22!p090"
    query = VECTORS[POS[pid]]
    want = expected(query, lambda d: d["size_l"] != 0, exclude={pid})[:40]
    resp = service.similar(
        SimilarRequest(
            id=pid, k=5, offset=5, candidates=40, mode="approx", filters=[{"field": "size", "min": 1}],
            facets=("color", "tags"), facet_limit=20,
        )
    )
    assert resp.total == 40
    assert [p.id for p in resp.products] == [w[0] for w in want[5:10]]
    ids = [w[0] for w in want]
    assert facet_counts(resp, "color") == counts(ids, "color_s")
    assert facet_counts(resp, "tags") == counts(ids, "tags_ss")
    # the set as ids and scores, its facets, then the page's five products whole (one get)
    assert resp.solr_requests == 3
    assert all(p.title and p.price is not None and p.attributes for p in resp.products)


@pytest.mark.parametrize("value", HOSTILE + ["never indexed } OR {!lucene}*:*", "*", "red OR blue"])
def test_a_hostile_filter_value_matches_only_its_literal_value(service, value):
    # min_similarity=-1: the threshold set is every product passing the filter
    resp = service.similar(
        SimilarRequest(id="g00!p000", k=100, candidates=100, min_similarity=-1, mode="approx",
                       filters=[{"field": "color", "values": [value]}], exclude_self=False)
    )
    literal = [d["id"] for d in DOCS if d["color_s"] == value]
    assert resp.total == len(literal)
    assert sorted(p.id for p in resp.products) == sorted(literal)
    assert all(p.attributes["color"] == value for p in resp.products)


@pytest.mark.parametrize("text", ["*:*", "} OR *:*", '" OR id:*', "{!lucene}*:*", "title:*", "\\", "OR", "x) OR (id:*"])
def test_hostile_text_matches_its_words_literally_never_everything(service, text):
    # each word matches an attribute value equal to it (no title contains these words)
    words = set(text.split())
    literal = [d["id"] for d in DOCS if d["color_s"] in words or words & set(d["tags_ss"])]
    resp = service.search(SearchRequest(text=text, k=100))
    assert resp.total == len(literal) < N
    assert sorted(p.id for p in resp.products) == sorted(literal)


def test_text_alone_and_text_with_an_image(service):
    resp = service.search(SearchRequest(text="silk dress", k=100, facets=("size",)))
    silk_or_dress = [d["id"] for d in DOCS if "silk" in d["title"] or "dress" in d["title"]]
    assert resp.similar_set == "text" and resp.total == len(silk_or_dress)
    assert len(resp.products) == 100 and {p.id for p in resp.products} <= set(silk_or_dress)
    assert all("silk" in p.title and "dress" in p.title for p in resp.products[:10])  # both words rank first
    assert facet_counts(resp, "size") == counts(silk_or_dress, "size_l")
    assert all(p.similarity is None for p in resp.products)

    pid = "g07!p030"
    query = VECTORS[POS[pid]]
    hybrid = service.search(SearchRequest(like=(pid,), text="silk", k=10, text_weight=0.5, candidates=50, mode="approx"))
    top50 = {i: s for i, s in expected(query, exclude={pid})[:50]}
    for p in hybrid.products:
        assert p.id in top50
        assert p.similarity == pytest.approx(top50[p.id], abs=1e-5)
        bonus = p.score - (1 + p.similarity) / 2
        if "silk" in p.title:
            assert 0 < bonus < 0.5
        else:
            assert bonus == pytest.approx(0, abs=1e-6)
    # a silk product ranks above a non-silk one whenever the text bonus outweighs the image gap
    scores = [p.score for p in hybrid.products]
    assert scores == sorted(scores, reverse=True)
    assert any("silk" in p.title for p in hybrid.products[:3])
    assert TEXT_SATURATION > 0


def test_unknown_ids_and_fields(service):
    with pytest.raises(NotFound, match="no product with id 'nope'"):
        service.similar(SimilarRequest(id="nope", mode="approx"))
    with pytest.raises(NotFound, match="'g00!p000x'"):
        service.search(SearchRequest(like=("g00!p000", "g00!p000x"), mode="approx"))
    with pytest.raises(BadRequest, match="unknown filter field 'colr'; known: .*color"):
        service.similar(SimilarRequest(id="g00!p000", filters=[{"field": "colr", "values": ["x"]}]))
    assert service.get_product("g00!p001").attributes["size"] == 1


# -- exact (the plugin) and the planner --------------------------------------------------------


def test_exact_mode_equals_numpy(service):
    if not plugin_available(service):
        pytest.skip("the {!lookalike} plugin does not answer yet (solr/plugin not implemented)")
    pid = "g12!p049"
    query = VECTORS[POS[pid]]
    keep = lambda d: d["color_s"] == "blue"  # noqa: E731
    resp = service.similar(SimilarRequest(id=pid, k=8, mode="exact", filters=[{"field": "color", "values": ["blue"]}]))
    want = expected(query, keep, exclude={pid})[:8]
    assert [p.id for p in resp.products] == [w[0] for w in want]
    assert [p.similarity for p in resp.products] == pytest.approx([w[1] for w in want], abs=1e-5)

    thr = service.similar(SimilarRequest(id=pid, k=10, mode="exact", min_similarity=0.25, facets=("color",), facet_limit=20))
    want_thr = [w for w in expected(query, exclude={pid}) if w[1] >= 0.25]
    assert thr.total == len(want_thr)
    assert facet_counts(thr, "color") == counts([w[0] for w in want_thr], "color_s")


def _unit(v):
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("combine", ["mean", "max"])
def test_exact_examples_image_and_unlike_follow_the_plugin_definition(service, combine):
    if not plugin_available(service):
        pytest.skip("the {!lookalike} plugin does not answer yet (solr/plugin not implemented)")
    like, unlike = ("g02!p009", "g30!p121"), ("g44!p177",)
    image = _unit(np.linspace(1, -1, DIMS))
    positives = [image] + [VECTORS[POS[i]] for i in like]
    if combine == "mean":
        pos = VECTORS @ _unit(np.mean(positives, axis=0))
    else:
        pos = np.max(np.stack([VECTORS @ p for p in positives]), axis=0)
    sim = pos - 0.7 * (VECTORS @ VECTORS[POS[unlike[0]]])
    order = sorted((i for i in range(N) if DOCS[i]["id"] not in like + unlike and DOCS[i]["group"] not in ("g02", "g30")),
                   key=lambda i: (-sim[i], DOCS[i]["id"]))
    resp = service.search(SearchRequest(
        like=like, unlike=unlike, vector=tuple(image * 2), combine=combine, unlike_weight=0.7,
        variants="exclude", k=8, mode="auto"))
    assert resp.mode == "exact" and "exact-only" in resp.mode_reason
    assert [p.id for p in resp.products] == [DOCS[i]["id"] for i in order[:8]]
    assert [p.similarity for p in resp.products] == pytest.approx([float(sim[i]) for i in order[:8]], abs=1e-5)


def test_exact_with_text_keeps_the_image_similarity(service):
    if not plugin_available(service):
        pytest.skip("the {!lookalike} plugin does not answer yet (solr/plugin not implemented)")
    pid = "g07!p030"
    top = dict(expected(VECTORS[POS[pid]], exclude={pid})[:50])
    resp = service.search(SearchRequest(like=(pid,), text="wool", k=10, candidates=50, mode="exact"))
    for p in resp.products:
        assert p.similarity == pytest.approx(top[p.id], abs=1e-5)
        bonus = p.score - (1 + p.similarity) / 2
        assert (0 < bonus < 0.5) if "wool" in p.title else bonus == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("value", HOSTILE[:4])
def test_exact_mode_hostile_filter_value(service, value):
    if not plugin_available(service):
        pytest.skip("the {!lookalike} plugin does not answer yet (solr/plugin not implemented)")
    resp = service.similar(SimilarRequest(id="g00!p000", k=100, min_similarity=-1, mode="exact", exclude_self=False,
                                          filters=[{"field": "color", "values": [value]}]))
    assert sorted(p.id for p in resp.products) == sorted(d["id"] for d in DOCS if d["color_s"] == value)


def test_auto_mode_picks_exact_for_small_filtered_sets(service):
    small = SimilarRequest(id="g12!p049", k=3, filters=[{"field": "color", "values": ["green"]}])
    svc = SearchService(service.settings, service.client, collection=service.collection, exact_max_docs=50)
    if plugin_available(service):
        assert svc.similar(small).mode == "exact"
    big = svc.similar(SimilarRequest(id="g12!p049", k=3))
    assert big.mode == "approx" and "> 50" in big.mode_reason


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_similar_and_search(service, solr, monkeypatch, capsys):
    import json

    from lookalike.cli import main

    monkeypatch.setenv("LOOKALIKE_SOLR_URL", solr.url)
    pid = "g03!p012"
    rc = main(["similar", pid, "--collection", service.collection, "--filter", "color=red|blue", "-k", "4",
               "--facet", "color", "--mode", "approx", "--json"])
    out = json.loads(capsys.readouterr().out)
    want = expected(VECTORS[POS[pid]], lambda d: d["color_s"] in ("red", "blue"), exclude={pid})
    assert rc == 0 and [p["id"] for p in out["products"]] == [w[0] for w in want[:4]]
    # the color facet leaves out its own filter: it counts the 100 most similar of any colour
    unfiltered = expected(VECTORS[POS[pid]], lambda d: True, exclude={pid})
    got = {b["value"]: b["count"] for b in out["facets"][0]["buckets"]}
    every = counts([w[0] for w in unfiltered[:100]], "color_s")
    assert len(got) == min(10, len(every)) and all(every[v] == n for v, n in got.items())  # the 10 most frequent
    assert min(got.values()) >= max([n for v, n in every.items() if v not in got], default=0)

    rc = main(["search", "--like", pid, "--text", "silk", "--collection", service.collection, "-k", "3", "--mode", "approx"])
    text = capsys.readouterr().out
    assert rc == 0 and "mode approx" in text and len(text.strip().splitlines()) == 5  # header, 3 rows, footer

    for mode in ("approx", "exact"):  # exact: the plugin reads the example; no Solr internals either way
        rc = main(["similar", "nope", "--collection", service.collection, "--mode", mode, "--variants", "include"])
        err = capsys.readouterr().err
        assert rc == 2 and "error: no product with id 'nope'" in err and "Solr" not in err, err
    rc = main(["similar", pid, "--collection", service.collection, "--filter", "colr=red"])
    assert rc == 2 and "unknown filter field 'colr'" in capsys.readouterr().err

"""Merchandising against the real Solr, on a hand-made catalog with exact expectations.

Vectors (dim 8) point along one of three "pattern" directions plus noise; a quarter of the
products lack ``pattern_s``, a few have it set by a human explicitly, two have no vector.
Every expectation (cluster cover and counts, candidate sets and reasons, gap counts, MMR
picks, preference order) is recomputed here with numpy from the same vectors.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lookalike.errors import BadRequest
from merch import batches, clusters, gaps, navigation, propagation
from merch.catalog import iter_docs
from merch.kmeans import CatalogClusterer
from query.models import Filter

from merch_catalog import CATEGORIES, N, gap_threshold, make_catalog, snapshot, unit

pytestmark = pytest.mark.integration


# -- clusters -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shards", [1, 2])
def test_clusters_cover_every_product_and_are_described_exactly(solr, collection_factory, shards):
    cat = make_catalog(solr, collection_factory, shards)
    result = clusters.build(solr.settings, solr.client, cat.name)
    stored = {d["id"]: d for d in iter_docs(solr.client, cat.name, fl="id,cluster,vector,pattern_s,category_s,tags_ss")}

    # every product with a vector is in exactly one cluster; those without are in none
    assert result.count == N and result.without_vector == 2
    assert all("cluster" in stored[i] for i in cat.ids)
    assert "cluster" not in stored["nv1"] and "cluster" not in stored["nv2"]
    labels = np.array([stored[i]["cluster"] for i in cat.ids])
    assert sorted(Counter(labels).values(), reverse=True) == [c.size for c in result.clusters]
    # the labels are the clusterer's on the same vectors (the k rule included), and vectors survived
    expected = CatalogClusterer().fit(cat.vectors)
    assert result.k == expected.k_ and result.k_rule == "silhouette"
    assert np.array_equal(labels, expected.labels_)
    np.testing.assert_allclose([stored[i]["vector"] for i in cat.ids], cat.vectors, atol=1e-6)

    for c in result.clusters:
        members = [i for i, lab in zip(cat.ids, labels) if lab == c.id]
        # the medoid is the member nearest the stored centroid
        cos = {i: float(cat.vec(i) @ unit(np.array(result.centroids[c.id]))) for i in members}
        assert c.medoid == max(cos, key=cos.get)
        # over-represented values: counts are exact, the cluster's main pattern is the top pattern value
        for o in c.over:
            field = o["field"]
            in_cluster = sum(1 for i in members if o["value"] in np.atleast_1d(cat.docs[i].get(field, [])))
            in_catalog = sum(1 for d in cat.docs.values() if o["value"] in np.atleast_1d(d.get(field, [])))
            in_catalog += int(field == "category_s" and o["value"] == "hat")  # nv1
            assert (o["in_cluster"], o["in_catalog"]) == (in_cluster, in_catalog), o
            assert o["relatedness"] > 0
        main = Counter(cat.docs[i]["pattern_s"] for i in members if "pattern_s" in cat.docs[i]).most_common(1)[0][0]
        pattern_over = [o for o in c.over if o["field"] == "pattern_s"]
        assert pattern_over and pattern_over[0]["value"] == main
        # missing attributes, exactly
        assert c.missing.get("pattern", 0) == sum(1 for i in members if "pattern_s" not in cat.docs[i])
        assert c.missing.get("tags", 0) == sum(1 for i in members if "tags_ss" not in cat.docs[i])

    assert clusters.load(solr.settings, solr.client, cat.name).as_dict() == result.as_dict()


def test_a_filtered_build_clusters_only_those_products_and_clears_stale_ids(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    clusters.build(solr.settings, solr.client, cat.name, k=3)
    result = clusters.build(solr.settings, solr.client, cat.name, k=2, filters=[Filter.parse("category=hat")])
    stored = {d["id"]: d for d in iter_docs(solr.client, cat.name, fl="id,cluster,category_s")}
    hats = [i for i in cat.ids if cat.docs[i]["category_s"] == "hat"]
    assert result.count == len(hats) and sum(c.size for c in result.clusters) == len(hats)
    assert {i for i, d in stored.items() if "cluster" in d} == set(hats)
    assert {stored[i]["cluster"] for i in hats} == {0, 1}


# -- propagation --------------------------------------------------------------------------------
def test_candidates_are_numpy_exact_with_reasons_and_a_movable_threshold(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    pos, neg = ["p002", "p005"], ["p001"]
    sims = cat.sims(pos, neg, weight=0.5)
    t = gap_threshold(sims, 0.3)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=pos, negatives=neg, unlike_weight=0.5, threshold=t, combine="max", user="ann")
    cands, total = propagation.candidates(solr.settings, solr.client, p, limit=500)
    eligible = [i for i in cat.ids if i not in pos + neg and cat.docs[i].get("pattern_s") != "hawaiian"]
    want = sorted((i for i in eligible if sims[cat.ids.index(i)] >= t), key=lambda i: -sims[cat.ids.index(i)])
    assert total == len(want) and [c.id for c in cands] == want
    v = cat.vectors.astype(np.float64)
    for c in cands:
        row = cat.ids.index(c.id)
        assert c.similarity == pytest.approx(sims[row], abs=1e-5)
        assert c.score == pytest.approx((1 + sims[row]) / 2, abs=1e-5)
        assert c.positives == pytest.approx({e: float(v[row] @ cat.vec(e)) for e in pos}, abs=1e-5)
        assert c.negatives == pytest.approx({e: float(v[row] @ cat.vec(e)) for e in neg}, abs=1e-5)
        assert (c.blocked is not None) == ("pattern_s" in cat.docs[c.id])
    # moving the threshold down gives a superset, in the same order
    lower = gap_threshold(sims, 0.0)
    more, more_total = propagation.candidates(solr.settings, solr.client, p, threshold=lower, limit=500)
    assert more_total > total and [c.id for c in more][: len(cands)] == want
    # raw vectors, the mean of the examples
    mean = cat.sims(pos, combine="mean")
    t = gap_threshold(mean, 0.5)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=pos, threshold=t, center_by=None)
    cands, total = propagation.candidates(solr.settings, solr.client, p, limit=500)
    want = sorted((i for i in eligible + neg if mean[cat.ids.index(i)] >= t), key=lambda i: -mean[cat.ids.index(i)])
    assert p.combine == "mean" and p.center_by is None and [c.id for c in cands] == want
    assert [c.similarity for c in cands] == pytest.approx([mean[cat.ids.index(i)] for i in want], abs=1e-5)


def centred_sims(cat, like: list[str], unlike: list[str] = (), weight: float = 1.0):
    """Category-centred similarity by hand: remove each product's category mean, compare with the examples' mean."""
    v = cat.vectors.astype(np.float64)
    cats = [cat.docs[i]["category_s"] for i in cat.ids]
    means = {c: v[[k == c for k in cats]].mean(axis=0) for c in set(cats)}
    spread = {c: np.sqrt(1 - means[c] @ means[c]) for c in means}

    def direction(ids):
        return unit(np.mean([unit(cat.vec(i) - means[cat.docs[i]["category_s"]]) for i in ids], axis=0))

    u = direction(like) - (weight * direction(unlike) if unlike else 0)
    sims = np.array([(v[r] - means[c]) @ u / np.linalg.norm(u) / spread[c] for r, c in enumerate(cats)])
    cos = {e: np.array([unit(v[r] - means[c]) @ unit(cat.vec(e) - means[cat.docs[e]["category_s"]])
                        for r, c in enumerate(cats)]) for e in [*like, *unlike]}
    return sims, cos


def test_centred_candidates_are_numpy_exact_and_say_whose_average_was_removed(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    pos, neg = ["p002", "p005"], ["p001"]
    sims, cos = centred_sims(cat, pos, neg, weight=0.5)
    t = gap_threshold(sims, 0.3)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=pos, negatives=neg, unlike_weight=0.5, threshold=t, user="ann")
    assert p.center_by == "category_s"
    cands, total = propagation.candidates(solr.settings, solr.client, p, limit=500)
    eligible = [i for i in cat.ids if i not in pos + neg and cat.docs[i].get("pattern_s") != "hawaiian"]
    want = sorted((i for i in eligible if sims[cat.ids.index(i)] >= t), key=lambda i: (-sims[cat.ids.index(i)], i))
    assert total == len(want) and [c.id for c in cands] == want
    for c in cands:
        row = cat.ids.index(c.id)
        assert c.similarity == pytest.approx(sims[row], abs=1e-5)
        assert c.positives == pytest.approx({e: cos[e][row] for e in pos}, abs=1e-5)
        assert c.negatives == pytest.approx({e: cos[e][row] for e in neg}, abs=1e-5)
        assert c.centred_on == f"category={cat.docs[c.id]['category_s']}"
        assert "removing the average look" in c.reason()["text"] and c.closest in c.reason()["text"]
    assert "average look of its category " in propagation.describe(p)
    # the gap report counts exactly what the review screen lists, among products lacking the value
    lacking = [i for i in want if "pattern_s" not in cat.docs[i]]
    assert gaps.gap_report(solr.settings, solr.client, cat.name, "pattern")["would_fill"] == len(lacking)
    # applying records the centred similarity and reason
    propagation.decide(solr.settings, solr.client, p.id, accept=lacking[:2])
    batch = propagation.apply(solr.settings, solr.client, p.id, user="ann")
    assert batch.written == 2 and batch.source["center_by"] == "category_s"
    change = batches.batch_changes(solr.settings, solr.client, batch.id)[0]
    assert change.score == pytest.approx(sims[cat.ids.index(change.id)], abs=1e-5)


def test_apply_then_undo_restores_every_product_exactly(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    # a first batch puts propagated values in place, so the second replaces some
    first = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="dots",
                                positives=["p003"], threshold=-1.0, user="bob")
    propagation.decide(solr.settings, solr.client, first.id, accept=["p000", "p008"])
    b1 = propagation.apply(solr.settings, solr.client, first.id, user="bob")
    assert b1.written == 2
    before = snapshot(solr, cat.name)

    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=["p002", "p005"], threshold=-1.0, combine="max", user="ann")
    # absent (p004, p012), propagated by b1 (p000, p008), human via catalog (p006), human explicit (p013)
    accept = ["p004", "p012", "p000", "p008", "p006", "p013"]
    propagation.decide(solr.settings, solr.client, p.id, accept=accept, reject=["p010"])
    batch = propagation.apply(solr.settings, solr.client, p.id, user="ann")
    after = snapshot(solr, cat.name)
    assert batch.written == 4 and {s["id"] for s in batch.skipped} == {"p006", "p013"}
    for i in ["p004", "p012", "p000", "p008"]:
        assert after[i]["pattern_s"] == "hawaiian" and after[i]["pattern_src_s"] == f"propagated:{batch.id}"
    assert after["p006"] == before["p006"] and after["p013"] == before["p013"] and after["p010"] == before["p010"]
    assert {i for i in after if after[i] != before[i]} == {"p004", "p012", "p000", "p008"}
    # provenance: who, when, which examples, model and PCA version, score per product
    record = batches.load_batch(solr.settings, solr.client, batch.id)
    assert (record.user, record.state, record.model, record.pca_version) == ("ann", "applied", "test-model", "pca-1")
    assert record.source["positives"] == ["p002", "p005"] and record.source["proposal"] == p.id
    changes = {c.id: c for c in batches.batch_changes(solr.settings, solr.client, batch.id)}
    sims = cat.sims(["p002", "p005"])
    for i, c in changes.items():
        assert c.score == pytest.approx(sims[cat.ids.index(i)], abs=1e-5)
    assert changes["p004"].before == {"pattern_s": None, "pattern_src_s": None}
    assert changes["p000"].before == {"pattern_s": "dots", "pattern_src_s": f"propagated:{b1.id}"}

    undone = batches.undo(solr.settings, solr.client, batch.id, user="ann")
    assert undone.state == "undone" and undone.undo_conflicts == []
    assert snapshot(solr, cat.name) == before
    with pytest.raises(BadRequest, match="already undone"):
        batches.undo(solr.settings, solr.client, batch.id)
    # and undoing the first batch too gives back the catalog as loaded
    batches.undo(solr.settings, solr.client, b1.id)
    original = snapshot(solr, cat.name)
    for i in cat.ids:
        assert original[i] == {k: v for k, v in cat.docs[i].items() if k != "vector"} | {"vector": original[i]["vector"]}


def test_overwriting_a_human_value_only_when_asked_and_undo_brings_it_back(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    before = snapshot(solr, cat.name)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=["p002"], threshold=-1.0)
    propagation.decide(solr.settings, solr.client, p.id, accept=["p001", "p006"])
    batch = propagation.apply(solr.settings, solr.client, p.id, user="ann", overwrite_human=True)
    now = snapshot(solr, cat.name)
    assert batch.written == 2 and now["p001"]["pattern_s"] == "hawaiian" and now["p006"]["pattern_s"] == "hawaiian"
    batches.undo(solr.settings, solr.client, batch.id)
    assert snapshot(solr, cat.name) == before


def test_undo_leaves_a_product_edited_since_alone_unless_forced(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    before = snapshot(solr, cat.name)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=["p002"], threshold=-1.0)
    propagation.decide(solr.settings, solr.client, p.id, accept=["p004", "p012"])
    batch = propagation.apply(solr.settings, solr.client, p.id, user="ann")
    solr.client.add(cat.name, [{"id": "p004", "pattern_s": {"set": "stripes"}, "pattern_src_s": {"set": "human"}}],
                    commit=True)
    undone = batches.undo(solr.settings, solr.client, batch.id)
    assert [c["id"] for c in undone.undo_conflicts] == ["p004"]
    now = snapshot(solr, cat.name)
    assert now["p012"] == before["p012"] and now["p004"]["pattern_s"] == "stripes"


def test_tagging_a_cluster_writes_every_member_but_human_values_and_undoes(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    result = clusters.build(solr.settings, solr.client, cat.name, k=3)
    before = snapshot(solr, cat.name)
    members = [i for i in cat.ids if before[i]["cluster"] == 1]
    batch = batches.tag_cluster(solr.settings, solr.client, cat.name, 1, attribute="print", value="tropical",
                                    user="ann")
    now = snapshot(solr, cat.name)
    assert batch.written == len(members) == result.clusters[1].size
    assert {i for i in now if now[i].get("print_s") == "tropical"} == set(members)
    assert batch.source["medoid"] == result.clusters[1].medoid and batch.model == "test-model"
    assert clusters.load(solr.settings, solr.client, cat.name).clusters[1].label == "print=tropical"
    batches.undo(solr.settings, solr.client, batch.id)
    assert snapshot(solr, cat.name) == before


# -- gap report ---------------------------------------------------------------------------------
def test_gap_report_counts_lacking_products_by_category_and_what_would_be_filled(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    empty = gaps.gap_report(solr.settings, solr.client, cat.name, "pattern")
    lacking = [i for i in cat.ids if "pattern_s" not in cat.docs[i]] + ["nv1", "nv2"]
    assert empty["products"] == N + 2 and empty["lacking"] == len(lacking) and empty["would_fill"] is None
    rows = {r["category"]: r for r in empty["rows"]}
    for c in CATEGORIES:
        assert rows[c]["lacking"] == sum(1 for i in lacking if i in cat.docs and cat.docs[i]["category_s"] == c) + (c == "hat")
    assert rows[None]["products"] == 1 and rows[None]["lacking"] == 1  # nv2 has no category

    sims = cat.sims(["p002", "p005"])
    t = gap_threshold(sims, 0.5)
    p = propagation.propose(solr.settings, solr.client, cat.name, attribute="pattern", value="hawaiian",
                            positives=["p002", "p005"], threshold=t, combine="max")
    reached = [i for i in cat.ids if "pattern_s" not in cat.docs[i] and i not in ("p002", "p005")
               and sims[cat.ids.index(i)] >= t]
    assert len(reached) >= 3
    propagation.decide(solr.settings, solr.client, p.id, reject=[reached[0]])
    report = gaps.gap_report(solr.settings, solr.client, cat.name, "pattern")
    fill = reached[1:]
    assert report["would_fill"] == len(fill)
    for r in report["rows"]:
        if r["category"] is not None:
            assert r["would_fill"] == sum(1 for i in fill if cat.docs[i]["category_s"] == r["category"])
    # a lower threshold for the whole report reaches more
    assert gaps.gap_report(solr.settings, solr.client, cat.name, "pattern", threshold=-1.0)["would_fill"] == len(lacking) - 2 - 1


# -- navigation and preference ------------------------------------------------------------------
def test_navigation_steps_are_mmr_over_the_exact_neighbours_with_filters(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    chosen = "p002"
    sims = cat.sims([chosen])
    hats = [i for i in cat.ids if cat.docs[i]["category_s"] == "hat" and i != chosen]
    pool = sorted(hats, key=lambda i: -sims[cat.ids.index(i)])[:20]

    plain = navigation.step(solr.settings, solr.client, cat.name, chosen, k=6, pool=20, lambda_=1.0,
                            filters=[Filter.parse("category=hat")])
    assert [it["id"] for it in plain["items"]] == pool[:6]

    lam = 0.3
    res = navigation.step(solr.settings, solr.client, cat.name, chosen, k=6, pool=20, lambda_=lam,
                          filters=[Filter.parse("category=hat")], exclude=[pool[3]])
    got = [it["id"] for it in res["items"]]
    pool2 = [i for i in pool + sorted(hats, key=lambda i: -sims[cat.ids.index(i)])[20:21] if i != pool[3]]
    assert set(got) <= set(pool2) and chosen not in got and pool[3] not in got
    assert got[0] == pool2[0] and all(cat.docs[i]["category_s"] == "hat" for i in got)
    # each pick maximises the MMR objective over what was left in the pool
    v = {i: cat.vec(i).astype(np.float64) for i in pool2}
    for n in range(1, len(got)):
        left = [i for i in pool2 if i not in got[:n]]
        obj = {i: lam * sims[cat.ids.index(i)] - (1 - lam) * max(v[i] @ v[j] for j in got[:n]) for i in left}
        best = max(obj.values())
        assert obj[got[n]] == pytest.approx(best, abs=1e-5)
    # collapsed: one product per design, none of the chosen one's design
    groups = {i: cat.docs[i]["group"] for i in cat.ids}
    res = navigation.step(solr.settings, solr.client, cat.name, chosen, k=6, pool=30, lambda_=1.0, collapse_groups=True)
    got_c = [it["id"] for it in res["items"]]
    want_c, seen_g = [], {groups[chosen]}
    for i in sorted((i for i in cat.ids if i != chosen), key=lambda i: -sims[cat.ids.index(i)])[:30]:
        if groups[i] not in seen_g:
            seen_g.add(groups[i])
            want_c.append(i)
    assert got_c == want_c[:6]
    # and it is more diverse than plain relevance order
    def spread(ids):
        return np.mean([v.get(a, cat.vec(a)) @ v.get(b, cat.vec(b)) for a in ids for b in ids if a < b])
    assert spread(got) < spread(pool[:6])


def test_start_shows_one_representative_per_cluster_within_the_filters(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    result = clusters.build(solr.settings, solr.client, cat.name, k=3)
    start = navigation.start(solr.settings, solr.client, cat.name, k=3)
    assert sorted(it["id"] for it in start["items"]) == sorted(c.medoid for c in result.clusters)
    start = navigation.start(solr.settings, solr.client, cat.name, k=3, filters=[Filter.parse("category=hat")])
    stored = snapshot(solr, cat.name)
    assert sorted(it["cluster"] for it in start["items"]) == [0, 1, 2]
    for it in start["items"]:
        members = [i for i in cat.ids if stored[i]["cluster"] == it["cluster"] and cat.docs[i]["category_s"] == "hat"]
        cent = unit(np.array(result.centroids[it["cluster"]]))
        assert it["id"] == max(members, key=lambda i: float(cat.vec(i) @ cent))


def test_preference_reranks_and_filters_a_category_page(solr, collection_factory):
    cat = make_catalog(solr, collection_factory)
    liked, disliked = ["p002"], ["p001"]
    pref = cat.sims(liked, disliked, weight=0.5)
    shirts = [i for i in cat.ids if cat.docs[i]["category_s"] == "shirt" and i not in liked + disliked]
    order = sorted(shirts, key=lambda i: -pref[cat.ids.index(i)])
    res = navigation.prefer(solr.settings, solr.client, cat.name, liked=liked, disliked=disliked,
                            filters=[Filter.parse("category=shirt")], k=10)
    assert [it["id"] for it in res["items"]] == order[:10] and res["total"] == len(shirts)
    t = gap_threshold(pref, 0.4)
    res = navigation.prefer(solr.settings, solr.client, cat.name, liked=liked, disliked=disliked, mode="filter",
                            min_similarity=t, filters=[Filter.parse("category=shirt")], k=200)
    assert [it["id"] for it in res["items"]] == [i for i in order if pref[cat.ids.index(i)] >= t]
    within = order[5:12][::-1]
    res = navigation.prefer(solr.settings, solr.client, cat.name, liked=liked, disliked=disliked, within=within)
    assert [it["id"] for it in res["items"]] == order[5:12]


def test_a_gap_report_of_an_attribute_nobody_has_is_an_error_not_all_lacking(solr, collection_factory):
    from lookalike.errors import BadRequest

    cat = make_catalog(solr, collection_factory)
    with pytest.raises(BadRequest, match="no product has the attribute 'nosuch'") as err:
        gaps.gap_report(solr.settings, solr.client, cat.name, "nosuch")
    assert "pca_version" not in str(err.value) and "category" in str(err.value)

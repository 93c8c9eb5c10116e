"""The quality harness: how well an index finds "the same item", through the real paths.

:func:`evaluate` takes a catalog whose products share a ground-truth key (``item``, ``group``
or any attribute) and

1. indexes it with the real reindex job (:func:`indexer.reindex.reindex`) into an alias and a
   metadata collection of its own (``eval_<folder>``, :data:`EVAL_META`), with the options
   ``lookalike index`` would use plus any :class:`indexer.reindex.ReindexOptions` field given
   in ``EvalOptions.index`` (so a new vector option needs no change here); or evaluates an
   existing alias as it is;
2. asks similar-by-id through :class:`query.client.SearchService` for every product (or a
   seeded sample) whose item has another rendering, with ``exclude_self=True`` and
   ``variants="include"`` set explicitly (the item's other renderings must stay in the answer),
   and scores each ranking against the item's other renderings (:mod:`quality.metrics`);
3. under ``filter_field`` (e.g. ``source``): for each query and each *other* value of the
   field, filters to that value and checks that rank 1 is the query's item ("the asked
   source's rendering first");
4. photo search: a seeded sample of catalog images uploaded through the photo path
   (:class:`indexer.photo_vectors.PhotoEmbedder`: decode, the index's model and PCA); the upload's
   own product is left out of its ranking (it is the same file), the rest scored as in 2;
5. the floor: 16x16 thumbnails' raw pixels ranked by L2 in numpy (:mod:`quality.baseline`);
6. indexing cost: embedding images/s (with how many came from the cache), width, index size;

then deletes what it built (unless ``keep_index``). :class:`quality.report.EvalReport` holds
the numbers, as text or JSON.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, LookalikeError
from lookalike.settings import Settings
from lookalike.solr import cloud
from quality import baseline, metrics
from quality.report import EvalReport

log = logging.getLogger(__name__)

EVAL_META = "lookalike_eval_meta"


@dataclass(frozen=True)
class EvalOptions:
    key: str = "item"
    filter_field: str | None = None
    queries: int | None = None  # a seeded sample of query products; None: every one
    photo_queries: int = 50
    k: int = 10
    seed: int = 0
    mode: str = "auto"
    alias: str | None = None  # evaluate this alias as it is, instead of indexing
    meta_collection: str | None = None  # of that alias (default: settings'); a built index uses EVAL_META
    index: Mapping[str, Any] = field(default_factory=dict)  # ReindexOptions fields
    keep_index: bool = False
    cold_cache: bool = False  # embed every image again (a fresh cache): images/s is the true cost
    baseline: bool = True


@dataclass(frozen=True)
class _Truth:
    """The catalog's products: id -> key value, filter value, image reference."""

    ids: list[str]
    key: dict[str, str]
    value: dict[str, str]
    image: dict[str, str]


def evaluate(settings: Settings, client: SolrClient, catalog: Path, options: EvalOptions, *,
             show_progress: bool = False) -> EvalReport:
    if options.k < 1:
        raise BadRequest(f"k must be at least 1, got {options.k}")
    started = time.perf_counter()
    truth = read_truth(catalog, options.key, options.filter_field)
    with ExitStack() as stack:
        if options.alias:
            alias, built = options.alias, False
            run_settings = settings.model_copy(
                update={"alias": alias, "meta_collection": options.meta_collection or settings.meta_collection})
            index_facts: dict[str, Any] = {}
        else:
            alias, built = _eval_alias(catalog), True
            update: dict[str, Any] = {"alias": alias, "meta_collection": EVAL_META}
            if options.cold_cache:
                update["data_dir"] = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lookalike-eval-")))
            run_settings = settings.model_copy(update=update)
            index_facts = _index(run_settings, client, catalog, alias, options, show_progress)
            if not options.keep_index:
                stack.callback(_drop_index, run_settings, client, alias)
        report = _measure(run_settings, client, catalog, alias, truth, options)
        report.index.update(index_facts)
        report.index.update(_index_facts(run_settings, client, alias))
        report.index["kept"] = not built or options.keep_index
        report.index["meta_collection"] = run_settings.meta_collection
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def read_truth(catalog: Path, key: str, filter_field: str | None) -> _Truth:
    from indexer.catalog import read_catalog

    if not catalog.is_file():
        raise BadRequest(f"catalog {catalog} is not a file")
    ids, keys, values, images = [], {}, {}, {}
    for p in read_catalog(catalog):
        if isinstance(p, Exception):
            continue  # the index job reports it; it is not in the index either
        ids.append(p.id)
        images[p.id] = p.image
        k = _field(p, key)
        if k is not None:
            keys[p.id] = k
        if filter_field:
            v = _field(p, filter_field)
            if v is not None:
                values[p.id] = v
    if not keys:
        raise BadRequest(f"no product of {catalog} has the key {key!r}: name a field the products share")
    if filter_field and not values:
        raise BadRequest(f"no product of {catalog} has the filter field {filter_field!r}")
    return _Truth(ids=ids, key=keys, value=values, image=images)


def _field(product: Any, name: str) -> str | None:
    value = product.group if name == "group" else product.attributes.get(name)
    if value is None or isinstance(value, list):
        return None
    return str(value)


def _eval_alias(catalog: Path) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", catalog.resolve().parent.name.lower()).strip("_")[:40] or "catalog"
    return f"eval_{stem}"


def _index(settings: Settings, client: SolrClient, catalog: Path, alias: str, options: EvalOptions,
           show_progress: bool) -> dict[str, Any]:
    from indexer.reindex import ReindexOptions, reindex

    ropts = ReindexOptions.from_settings(settings, catalog=catalog, alias=alias, **dict(options.index))
    summary = reindex(settings, client, ropts, show_progress=show_progress)
    embed_s = sum(summary.seconds_by_stage.get(s, 0.0) for s in ("load", "embed"))
    return {"recipe": ropts.recipe(), "indexed": summary.indexed, "failed": summary.failed,
            "embedded": summary.embedded, "cache_hits": summary.cache_hits,
            "embed_images_per_s": round(summary.embedded / embed_s, 2) if summary.embedded and embed_s else None,
            "index_seconds": summary.seconds_total, "warnings": summary.warnings}


def _drop_index(settings: Settings, client: SolrClient, alias: str) -> None:
    from indexer.meta import MetadataStore

    target = cloud.alias_target(client, alias)
    meta = MetadataStore(client, settings)
    try:
        cloud.delete_alias(client, alias)
        for record in meta.index_records(alias):
            if record.collection in cloud.list_collections(client):
                cloud.delete_collection(client, record.collection)
            meta.delete_index_record(record.collection)
    except LookalikeError as err:  # leave it, say so: a later run replaces it
        log.warning("could not remove the evaluation index %s (%s): %s", alias, target, err)


def _index_facts(settings: Settings, client: SolrClient, alias: str) -> dict[str, Any]:
    from lookalike.meta import live_record

    record = live_record(settings, client, alias)
    return {"alias": alias, "collection": record.collection, "model": record.model, "dims": record.dims,
            "recipe": record.recipe or {"model": record.model, "dims": record.dims},
            "random_weights": record.random_weights, "size_bytes": _size_bytes(client, record.collection)}


def _size_bytes(client: SolrClient, collection: str) -> int | None:
    """The collection's index on disk, summed over its cores on the node the client talks to."""
    try:
        status = client.get("admin/cores", {"action": "STATUS"}).get("status", {})
    except LookalikeError:
        return None
    sizes = [c.get("index", {}).get("sizeInBytes", 0) for c in status.values()
             if c.get("cloud", {}).get("collection") == collection]
    return int(sum(sizes)) if sizes else None


def _indexed_ids(client: SolrClient, alias: str, limit: int) -> set[str]:
    resp = client.select(alias, {"q": "*:*", "fl": "id", "rows": limit + 1})
    return {d["id"] for d in resp["response"]["docs"]}


def _measure(settings: Settings, client: SolrClient, catalog: Path, alias: str, truth: _Truth,
             options: EvalOptions) -> EvalReport:
    from query.client import SearchService
    from indexer.photo_vectors import open_photo_embedder
    from query.models import Filter, SimilarRequest

    indexed = _indexed_ids(client, alias, len(truth.ids))
    members: dict[str, list[str]] = defaultdict(list)
    for pid in truth.ids:
        if pid in indexed and pid in truth.key:
            members[truth.key[pid]].append(pid)
    candidates = [pid for pid in truth.ids if pid in indexed and len(members.get(truth.key.get(pid), ())) >= 2]
    if not candidates:
        raise BadRequest(f"no item of {catalog} has two indexed products under the key {options.key!r}: nothing to find")
    rng = np.random.default_rng(options.seed)
    queries = _sample(rng, candidates, options.queries)
    k = options.k

    def relevant(pid: str, value: str | None = None) -> set[str]:
        return {o for o in members[truth.key[pid]] if o != pid and (value is None or truth.value.get(o) == value)}

    service = SearchService(settings, client, collection=alias, embedder=open_photo_embedder(settings, client))
    common = {"k": k, "candidates": max(k, 100), "exclude_self": True, "variants": "include",
              "mode": options.mode, "fields": ()}
    rankings = {}
    for pid in queries:
        resp = service.similar(SimilarRequest(id=pid, **common))
        rankings[pid] = [p.id for p in resp.products]
    report = EvalReport(catalog=str(catalog), key=options.key, filter_field=options.filter_field,
                        products=len(indexed), items=len(members), k=k, mode=options.mode)
    report.similar = metrics.summarize(((rankings[q], relevant(q)) for q in queries), k).as_dict()
    if options.filter_field:  # the same measures by the query's own value (which seller took it)
        report.by_value = {v: metrics.summarize(((rankings[q], relevant(q)) for q in queries if truth.value.get(q) == v),
                                                k).as_dict() for v in sorted({truth.value.get(q) for q in queries} - {None})}

    values = sorted({truth.value[p] for p in indexed if p in truth.value})
    pairs = [(q, v) for q in queries for v in values if v != truth.value.get(q) and relevant(q, v)]
    if options.filter_field:
        hits = 0
        for q, v in pairs:
            req = SimilarRequest(id=q, **{**common, "k": 1, "filters": (Filter(field=options.filter_field, values=(v,)),)})
            resp = service.similar(req)
            hits += bool(resp.products) and resp.products[0].id in relevant(q, v)
        report.filtered = {"field": options.filter_field, "values": len(values), "queries": len(pairs),
                           "rank1": hits / len(pairs) if pairs else float("nan")}

    photos = _sample(rng, queries, options.photo_queries)
    photo_results = []
    for q in photos:
        data = _image_bytes(settings, catalog, truth.image[q])
        resp = service.search_image(data, **{**common, "k": k + 1, "exclude_self": False})
        photo_results.append(([p.id for p in resp.products if p.id != q][:k], relevant(q)))
    if photo_results:
        report.photo = metrics.summarize(photo_results, k).as_dict()

    if options.baseline:
        report.baseline = _pixel_baseline(settings, catalog, truth, indexed, queries, pairs, relevant, k)
    return report


def _sample(rng: np.random.Generator, items: list[str], n: int | None) -> list[str]:
    if n is None or n >= len(items):
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), size=max(0, n), replace=False))]


def _image_bytes(settings: Settings, catalog: Path, ref: str) -> bytes:
    from indexer.images import fetch_bytes

    return fetch_bytes(ref, catalog.resolve().parent, settings)


def _pixel_baseline(settings: Settings, catalog: Path, truth: _Truth, indexed: set[str], queries: list[str],
                    pairs: list[tuple[str, str]], relevant, k: int) -> dict[str, Any]:
    from indexer.images import decode_image

    ids = [p for p in truth.ids if p in indexed]
    row = {p: i for i, p in enumerate(ids)}
    thumbs: dict[str, list[np.ndarray]] = {mode: [] for mode in baseline.MODES}
    for p in ids:  # one decode per picture, its thumbnails kept, not the picture
        image = decode_image(_image_bytes(settings, catalog, truth.image[p]), settings)
        for mode in baseline.MODES:
            thumbs[mode].append(baseline.thumbnail(image, mode))
    out: dict[str, Any] = {"side": baseline.SIDE}
    q_rows = [row[q] for q in queries]
    for mode in baseline.MODES:
        feats = np.stack(thumbs[mode])
        ranked = baseline.l2_rankings(feats, q_rows, k)
        result = metrics.summarize(((([ids[j] for j in r]), relevant(q)) for q, r in zip(queries, ranked)), k).as_dict()
        if pairs:
            value_of = np.array([truth.value.get(p, "") for p in ids], dtype=object)
            hits = 0
            for v in sorted({v for _, v in pairs}):
                asked = [q for q, w in pairs if w == v]
                top = baseline.l2_rankings(feats, [row[q] for q in asked], 1, allowed=value_of == v)
                hits += sum(bool(r) and ids[r[0]] in relevant(q, v) for q, r in zip(asked, top))
            result["filtered_rank1"] = hits / len(pairs)
        out[mode] = result
    return out

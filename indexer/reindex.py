"""Bulk reindex: read -> load -> embed -> reduce -> write, into a new collection, then swap.

The alias the storefront queries is changed in exactly one place, :func:`indexer.aliases.publish`, after
the new collection is committed and verified. A failed, interrupted or rejected run leaves
the alias as it was. A run writes its staging collection's name to
``<data_dir>/runs/<alias>.json`` before it creates it; re-running the same job finds it and
resumes there (embeddings already computed come from the cache, documents are rewritten by
id), or recreates it when the kill came in the middle of its creation (no vector field of
the right width yet).

The collections of failed runs (named like a staging collection of this alias, never
verified, so without an index record, not served) are removed by the next run, before it
creates its own and again before pruning; pruning deletes no good collection while one of
them still stands.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, IndexJobError, SolrRequestError, SolrUnavailable
from lookalike.fields import VECTOR_FIELD, check_quantization, image_vector_fields
from lookalike.settings import Settings
from lookalike.solr import cloud, segments
from lookalike.solr_syntax import local_params, vector_literal

from indexer.aliases import prune, publish, remove_failed_runs, staging_name
from indexer.cache import EmbeddingCache
from indexer.digest import file_sha256
from indexer.meta import IndexRecord, MetadataStore
from indexer.models.options import EmbeddingOptions
from indexer.pipeline import embed_products, product_docs, read_products, write_docs
from indexer.progress import progress_bar
from indexer.report import ErrorReport
from indexer.timing import StageTimer
from indexer.views import embed_views

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexOptions:
    catalog: Path
    alias: str
    model: str
    dims: int | None = None  # None: settings.pca_dims, narrowed to what the catalog allows
    whiten: bool = False
    power: float = 1.0  # signed power normalisation before the PCA (1.0: none)
    embedding: EmbeddingOptions = EmbeddingOptions()  # framing, pooling, flip: part of the model's identity
    shrinkage: float = 0.0  # whitening shrinkage towards the mean variance
    adapt: bool = False  # learn the projection from augmented views of a sample (indexer/adaptation.py)
    shards: int = 1
    replicas: int = 1
    allow_random_weights: bool = False  # unit tests only; the index is then marked
    if_changed: bool = False  # skip when the alias already serves this catalog with this recipe
    swap: bool = True  # False: build and verify a candidate, leave the alias alone (`lookalike promote` swaps)
    quantization: str = "none"  # what the HNSW graph searches: none (float32), int7 or int4 (lookalike/solr/cloud.py)

    def __post_init__(self) -> None:
        check_quantization(self.quantization)

    @classmethod
    def from_settings(cls, settings: Settings, *, catalog: Path, alias: str, **overrides) -> "ReindexOptions":
        """The options ``lookalike index`` uses: each field from ``overrides`` when given (not
        None), else from ``settings``, else the field's default. The fields of
        :class:`EmbeddingOptions` (``trim``, ``pooling``, ...) may be given flat. The one place a
        new option's default is read, so the CLI and the quality harness index alike."""
        embedding_names = {f.name for f in fields(EmbeddingOptions)}
        names = ({f.name for f in fields(cls)} - {"catalog", "alias"}) | embedding_names
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise BadRequest(f"unknown index option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {"model": settings.model, "whiten": settings.pca_whiten, "power": settings.pca_power,
                  "shrinkage": settings.pca_shrinkage, "adapt": settings.adapt, "shards": settings.shards,
                  "replicas": settings.replicas, "quantization": settings.vector_quantization}
        embedding = {"trim": settings.trim, "pooling": settings.pooling, "gem_p": settings.gem_p, "flip": settings.flip,
                     "runtime": settings.model_runtime}
        embedding.update({k: given.pop(k) for k in list(given) if k in embedding_names})
        values["embedding"] = EmbeddingOptions(**embedding)
        values.update(given)
        return cls(catalog=catalog, alias=alias, **values)

    def recipe(self) -> dict:
        """Everything that shapes the stored vectors and how they are searched; recorded with the
        index, compared by --if-changed. ``quantization`` only when there is one, so the records
        of float collections built before it existed still match."""
        recipe = {"model": self.model, "dims": self.dims, "whiten": self.whiten, "power": self.power,
                  "shrinkage": self.shrinkage if self.whiten or self.adapt else 0.0, "adapt": self.adapt,
                  "embedding": self.embedding.as_dict()}
        if self.quantization != "none":
            recipe["quantization"] = self.quantization
        return recipe


@dataclass
class Summary:
    alias: str
    collection: str
    previous: str | None
    read: int = 0
    indexed: int = 0
    failed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    embedded: int = 0
    cache_hits: int = 0
    seconds_by_stage: dict[str, float] = field(default_factory=dict)
    seconds_total: float = 0.0
    images_per_s: float = 0.0
    report: str = ""
    resumed: bool = False
    pca_version: str = ""
    dims: int = 0
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)
    # the adaptation's augmented views: (fitted on, embedded in this run; the others came from the cache)
    adapted_views: tuple[int, int] | None = None
    segments: dict[str, int] = field(default_factory=dict)  # per shard, after the merge
    quantization: str = "none"  # what the HNSW graph searches (none: the float32 vectors)
    segments_written: dict[str, int] = field(default_factory=dict)  # per shard, before the merge
    published: bool = True  # False: a candidate (--no-swap); the alias still serves `previous`

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def to_text(self) -> str:
        if self.skipped:
            return (f"alias {self.alias} already serves {self.collection}, built from this catalog "
                    "with the same model and width: nothing to do")
        head = (f"alias {self.alias} -> {self.collection}" + (f" (was {self.previous})" if self.previous else "")
                if self.published else
                f"candidate {self.collection} built and verified; alias {self.alias} still serves "
                f"{self.previous or 'nothing'}: `lookalike compare {self.collection}` shows what would change, "
                f"`lookalike promote {self.collection}` publishes it")
        lines = [
            head,
            f"read {self.read}, indexed {self.indexed}, failed {self.failed}"
            + (" (" + ", ".join(f"{r}: {n}" for r, n in sorted(self.failed_by_reason.items())) + ")" if self.failed else ""),
            f"embedded {self.embedded}, from cache {self.cache_hits}" + (", resumed a previous run" if self.resumed else ""),
            "time per stage: " + ", ".join(f"{s} {t:.1f}s" for s, t in self.seconds_by_stage.items()),
            f"total {self.seconds_total:.1f}s, {self.images_per_s:.1f} images/s",
            f"vectors: {self.dims}-d (PCA {self.pca_version})"
            + (f", HNSW on {self.quantization}-quantized copies (float32 kept for exact)"
               if self.quantization != "none" else "")
            + (f", adapted on {self.adapted_views[0]} augmented views ({self.adapted_views[1]} embedded now)"
               if self.adapted_views else ""),
        ]
        if self.segments:
            lines.append("segments per shard after the merge: "
                         + ", ".join(f"{shard} {n}" for shard, n in self.segments.items()))
        if self.failed:
            lines.append(f"failures listed in {self.report}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def reindex(settings: Settings, client: SolrClient, options: ReindexOptions, *, show_progress: bool = True,
            timer: StageTimer | None = None) -> Summary:
    from indexer.models import open_model
    from indexer.pca import VectorReducer

    if not options.catalog.is_file():
        raise IndexJobError(f"catalog {options.catalog} is not a file; alias {options.alias} left unchanged")
    started = time.perf_counter()
    timer = timer if timer is not None else StageTimer()  # a caller's, to read the stages' spans
    runs_dir = settings.data_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    report = ErrorReport(runs_dir / f"{options.alias}-errors.jsonl")
    meta = MetadataStore(client, settings)
    meta.ensure()
    previous = cloud.alias_target(client, options.alias)
    catalog_sha = file_sha256(options.catalog)
    if options.if_changed and previous:
        current = _current_record(meta, previous)
        if current and (current.catalog_sha256, current.recipe) == (catalog_sha, options.recipe()):
            return Summary(alias=options.alias, collection=previous, previous=previous, indexed=current.count,
                           pca_version=current.pca_version, skipped=True,
                           warnings=[current.warning()] if current.warning() else [])

    # read
    with timer.stage("read"):
        products = read_products(options.catalog, report)
    read = len(products) + report.count
    if not products:
        raise IndexJobError(f"{options.catalog} has no valid product; alias {options.alias} left unchanged")

    # load + embed
    with timer.stage("model"):
        model = open_model(options.model, settings, allow_random=options.allow_random_weights,
                           options=options.embedding)
    summary_notes: list[str] = []
    with progress_bar(len(products), "embed", enabled=show_progress) as bar:
        embedded = embed_products(model, products, options.catalog.parent, settings, report, timer,
                                  on_progress=bar.update)
    # The PCA (and the adaptation) is fitted on every image, not only the main ones: every image
    # has a stored vector that queries are compared with, and back or detail shots vary in
    # directions of their own that a fit on main images alone would squeeze out.
    kept, full = embedded.products, embedded.all_vectors
    if not kept:
        report.close()
        raise IndexJobError(f"no image could be embedded; see {report.path}; alias {options.alias} left unchanged")
    image_fields = embedded.image_fields
    if len(full) > len(kept):
        summary_notes.append(f"{len(full)} images of {len(kept)} products embedded "
                             f"(up to {image_fields} per product, vector fields {', '.join(image_vector_fields(image_fields))})")
    if embedded.images_left_out:
        summary_notes.append(f"{embedded.images_left_out} images beyond LOOKALIKE_MAX_IMAGES={settings.max_images} "
                             "per product were left out")

    # reduce
    with timer.stage("reduce"):
        dims, note = choose_dims(options.dims, settings.pca_dims, full.shape, even=options.quantization == "int4")
        if note:
            summary_notes.append(note)
        reducer = VectorReducer(n_components=dims, whiten=options.whiten, power=options.power,
                                shrinkage=options.shrinkage, adapt=options.adapt)
        view_rows = views = adapted_views = None
        if options.adapt:
            with timer.stage("adapt"):
                view_rows, views, embedded_views = embed_views(model, EmbeddingCache(settings.cache_dir),
                                                               embedded.image_items(), options.catalog.parent,
                                                               settings, sample=settings.adapt_sample)
            adapted_views = (len(views), embedded_views)
        reducer.fit(full, model_name=model.identity, weights_sha256=model.weights_sha256, views=views,
                    view_rows=view_rows)
        pca_version = meta.put_pca(reducer)
        docs = product_docs(embedded, reducer.transform, model.identity, pca_version)
        probe = {d["id"]: np.asarray(d[VECTOR_FIELD], dtype=np.float32) for d in docs[: min(5, len(docs))]}

    # write, into the staging collection (resumed or new)
    state = _RunState(runs_dir / f"{options.alias}.json", options, catalog_sha)
    collection, resumed = state.collection_to_use(client, previous, dims, image_fields)
    removed = remove_failed_runs(client, meta, options.alias, keep={collection})
    if not resumed:
        state.save(collection)  # first, so that a kill during the creation is found by the next run
        with timer.stage("create"):
            if collection in cloud.list_collections(client):  # half-created by a killed run
                cloud.delete_collection(client, collection)
            cloud.create_collection(client, collection, dims=dims, shards=options.shards,
                                    replicas=options.replicas, configset=settings.configset,
                                    image_fields=image_fields, quantization=options.quantization)
    merged: dict[str, int] = {}
    written_segments: dict[str, int] = {}
    try:
        with timer.stage("create"):  # one segment per indexing thread, not one per auto-commit
            segments.bulk_load_mode(client, collection, True, graph_at_merge=settings.merge_segments > 0)
        with timer.stage("write"):
            write_docs(client, collection, docs)
        if settings.merge_segments:
            written_segments = segments.segment_counts(client, collection)
            log.info("%s written as %s segments; merging to %d", collection, written_segments, settings.merge_segments)
            with timer.stage("merge"):  # before verification: the alias moves to the merged index only
                merged = segments.force_merge(client, collection, settings.merge_segments)
                _check_graphs(client, collection, options.alias)
        with timer.stage("verify"):
            segments.bulk_load_mode(client, collection, False)  # served from here on: durable every 15 s again
        # verify, record, publish
        with timer.stage("verify"):
            _verify(client, collection, expected=len(kept), probe=probe)
    except (SolrUnavailable, SolrRequestError) as err:
        report.close()
        raise IndexJobError(
            f"writing {collection} failed: {err.message}. The alias {options.alias} was left unchanged"
            f"{f' (still {previous})' if previous else ''}; run the same command again when the cluster is "
            f"healthy (`lookalike solr status`): it resumes into {collection}, with the vectors from the "
            "embedding cache") from err
    record = IndexRecord(
        collection=collection, alias=options.alias, model=model.name, weights_sha256=model.weights_sha256,
        pca_version=pca_version, dims=dims, random_weights=bool(model.random_weights),
        count=len(kept), created=_now(), catalog=str(options.catalog.resolve()), catalog_sha256=catalog_sha,
        recipe=options.recipe(),
    )
    meta.put_index_record(record)
    if options.swap:
        publish(client, options.alias, collection)
    state.clear()
    if options.swap:
        prune(client, meta, options.alias, keep=settings.keep_collections)
    report.close()

    elapsed = time.perf_counter() - started
    summary = Summary(
        alias=options.alias, collection=collection, previous=previous, read=read, indexed=len(kept),
        failed=report.count, failed_by_reason=report.counts_by_reason(), embedded=embedded.embedded,
        cache_hits=embedded.cache_hits, seconds_by_stage=timer.as_dict(), seconds_total=round(elapsed, 3),
        images_per_s=round(len(kept) / elapsed, 2) if elapsed else 0.0, report=str(report.path),
        resumed=resumed, pca_version=pca_version, dims=dims, warnings=summary_notes, adapted_views=adapted_views,
        segments=merged, segments_written=written_segments, quantization=options.quantization,
        published=options.swap,
    )
    if record.warning():
        summary.warnings.append(record.warning())
    summary.warnings += [f"removed {name}, the collection of a failed run" for name in removed]
    return summary


def choose_dims(requested: int | None, default: int, shape: tuple[int, int], *, even: bool = False) -> tuple[int, str]:
    """The PCA width and, when the default had to be narrowed, a sentence saying so.

    ``n`` vectors span at most ``n - 1`` centred directions; an asked-for width beyond that
    (or beyond the model's width) is refused, the default width is narrowed to it. ``even``
    (int4 quantization packs two dimensions in a byte): an odd width asked for is refused, and
    the narrowed default is even too.
    """
    n, d = shape
    allowed = max(2, min(n - 1, d))
    if even:
        allowed -= allowed % 2
        if requested is not None and requested % 2:
            raise IndexJobError(f"--dims {requested} is odd; int4 quantization needs an even width")
    if requested is not None:
        if requested > allowed:
            raise IndexJobError(
                f"--dims {requested} is more than this catalog supports "
                f"({n} images of width {d}); choose at most {allowed}"
            )
        return requested, ""
    if default > allowed:
        return allowed, (f"the default PCA width {default} needs more than {n} images: "
                         f"these vectors are {allowed}-d (the most {n} images allow)")
    return default, ""


def _current_record(meta: MetadataStore, collection: str) -> IndexRecord | None:
    from lookalike.errors import NotFound

    try:
        return meta.index_record(collection)
    except NotFound:
        return None


VERIFY_TOP_K = 10


def _check_graphs(client: SolrClient, collection: str, alias: str) -> None:
    """Every segment of ``collection`` has its HNSW graph (the force-merge rewrote what the bulk
    load flushed flat); a Solr whose ``security.json`` predates the permission to read segments
    (it is kept in ZooKeeper as first written) cannot say, and the check is skipped with a warning."""
    try:
        flat = {shard: n for shard, n in segments.flat_segments(client, collection).items() if n}
    except SolrRequestError as err:
        if err.solr_status != 403:
            raise
        log.warning("cannot read the segments of %s (%s): not checked for segments without a graph; "
                    "a security.json written by this version allows it", collection, err.message)
        return
    if flat:
        raise IndexJobError(f"{collection} still has segments without an HNSW graph after the merge ({flat}); "
                            f"the alias {alias} was left unchanged")


def _verify(client: SolrClient, collection: str, *, expected: int, probe: dict[str, np.ndarray]) -> None:
    """The new collection must hold every document, and HNSW must find each probe vector: its
    own document among the top hits, or a top hit as similar as itself (a product whose image
    another one shares). A quantized graph scores its own copies, a little off the float cosine,
    so the id is what is checked."""
    found = client.select(collection, {"q": "*:*", "rows": 0})["response"]["numFound"]
    if found != expected:
        raise IndexJobError(f"verification failed: {collection} holds {found} documents, expected {expected}")
    for doc_id, vec in probe.items():
        params = {"q": local_params("knn", f=VECTOR_FIELD, topK=VERIFY_TOP_K, v="$vec"), "vec": vector_literal(vec),
                  "rows": VERIFY_TOP_K, "fl": "id,score"}
        resp = client.select(collection, params)
        docs = resp["response"]["docs"]
        # dot_product scores (1 + cosine) / 2: the probe's own document scores 1.
        if not docs or (doc_id not in {d["id"] for d in docs} and docs[0]["score"] < 0.999):
            raise IndexJobError(f"verification failed: a sample vector does not find itself in {collection}")


class _RunState:
    """The staging collection of an unfinished run, so that re-running resumes it."""

    def __init__(self, path: Path, options: ReindexOptions, catalog_sha: str):
        self.path = path
        self.key = {"catalog_sha256": catalog_sha, **options.recipe(),
                    "shards": options.shards, "replicas": options.replicas}

    def collection_to_use(self, client: SolrClient, live: str | None, dims: int,
                          image_fields: int = 1) -> tuple[str, bool]:
        """(name, resumed): the unfinished run's collection when it is usable, else a new name.

        A collection the killed run had not finished creating (no vector field of this width)
        is not resumed: its name is returned with resumed=False and it is recreated.
        """
        if self.path.exists():
            try:
                state = json.loads(self.path.read_text())
            except ValueError:
                state = {}
            name = state.get("collection")
            if state.get("key") == self.key and name and name != live:
                if (name in cloud.list_collections(client) and cloud.vector_dims(client, name) == dims
                        and cloud.image_field_count(client, name) >= image_fields):
                    log.info("resuming the unfinished run into %s", name)
                    return name, True
                return name, False
        return staging_name(self.path.stem), False

    def save(self, collection: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"collection": collection, "key": self.key}))
        tmp.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")

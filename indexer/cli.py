"""CLI: `lookalike index`, `rollback`, `upsert`, `delete`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lookalike.connection import SolrClient
from lookalike.fields import MAX_VECTOR_DIMS, VECTOR_QUANTIZATIONS
from lookalike.settings import Settings

from indexer.models.options import RUNTIMES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="bulk reindex a catalog into a new collection, then swap the alias")
    p.add_argument("catalog", type=Path, help="catalog file (JSON Lines)")
    p.add_argument("--collection", default=None, help="alias to publish (default: settings.alias)")
    add_recipe_arguments(p)
    p.add_argument("--shards", type=int, default=None)
    p.add_argument("--replicas", type=int, default=None)
    p.add_argument("--if-changed", action="store_true",
                   help="do nothing when the alias already serves this catalog with this model and width")
    p.add_argument("--no-swap", dest="swap", action="store_false",
                   help="build and verify a candidate collection but leave the alias alone: compare it with "
                   "`lookalike compare COLLECTION`, publish it with `lookalike promote COLLECTION`")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_index)

    p = sub.add_parser("rollback", help="point the alias back at the previous collection")
    p.add_argument("alias", nargs="?", default=None)
    p.set_defaults(func=_rollback)

    p = sub.add_parser("upsert", help="add or replace products in the live collection")
    p.add_argument("catalog", type=Path)
    p.add_argument("--collection", default=None, help="alias (default: settings.alias)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_upsert)

    p = sub.add_parser("delete", help="delete products from the live collection")
    p.add_argument("ids", nargs="+")
    p.add_argument("--collection", default=None, help="alias (default: settings.alias)")
    p.set_defaults(func=_delete)


def add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The options that shape the vectors (fields of :class:`indexer.reindex.ReindexOptions`,
    each default None = from settings), shared by ``lookalike index`` and ``lookalike eval``:
    an option added here reaches both. :func:`recipe_from_args` reads them back."""
    g = p.add_argument_group("vectors", "how the vectors are made (default: from settings)")
    g.add_argument("--model", default=None, help="embedding model (default: settings.model)")
    g.add_argument("--dims", type=int, default=None, help=f"PCA width, 2..{MAX_VECTOR_DIMS} (default: settings.pca_dims)")
    g.add_argument("--whiten", action=argparse.BooleanOptionalAction, default=None,
                   help="whiten the PCA output (default: settings.pca_whiten)")
    g.add_argument("--power", type=float, default=None,
                   help="signed power normalisation before the PCA, in (0, 1]; 1 is none (default: settings.pca_power)")
    g.add_argument("--shrinkage", type=float, default=None,
                   help="whitening shrinkage in [0, 1]: 0 full whitening, 1 none (default: settings.pca_shrinkage)")
    g.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=None,
                   help="learn the projection from augmented views of the catalog (default: settings.adapt)")
    g.add_argument("--trim", action=argparse.BooleanOptionalAction, default=None,
                   help="crop each image to the product before embedding (default: settings.trim)")
    g.add_argument("--pooling", choices=("avg", "gem", "max"), default=None, help="default: settings.pooling")
    g.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="average with the mirror image (default: settings.flip)")
    g.add_argument("--runtime", choices=RUNTIMES, default=None,
                   help="what runs an EfficientNet-Lite model; onnx-int8 makes vectors of their own "
                        "(default: settings.model_runtime)")
    g.add_argument("--quantization", choices=VECTOR_QUANTIZATIONS, default=None,
                   help="what the HNSW graph searches: the float32 vectors (none) or Lucene's scalar-quantized "
                        "copies, int7 or int4; the floats stay for the exact path (default: settings.vector_quantization)")
    p.set_defaults(_recipe_dests=[a.dest for a in g._group_actions])


def recipe_from_args(args: argparse.Namespace) -> dict:
    """The vector options given on the command line (those left out are None: from settings)."""
    return {dest: getattr(args, dest) for dest in args._recipe_dests if getattr(args, dest) is not None}


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.reindex import ReindexOptions, reindex

    options = ReindexOptions.from_settings(
        settings, catalog=args.catalog, alias=args.collection or settings.alias,
        shards=args.shards or None, replicas=args.replicas or None, if_changed=args.if_changed, swap=args.swap,
        **recipe_from_args(args),
    )
    with SolrClient(settings, role="indexer") as client:
        summary = reindex(settings, client, options, show_progress=not (args.no_progress or args.json))
    print(summary.to_json() if args.json else summary.to_text())
    return 0


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.aliases import rollback

    alias = args.alias or settings.alias
    with SolrClient(settings, role="indexer") as client:
        was, now = rollback(settings, client, alias)
    print(f"alias {alias} -> {now} (was {was})")
    return 0


def _upsert(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.incremental import upsert

    with SolrClient(settings, role="indexer") as client:
        summary = upsert(settings, client, args.catalog, alias=args.collection or settings.alias)
    if args.json:
        print(json.dumps(summary.as_dict(), sort_keys=True))
    else:
        print(f"{summary.collection}: read {summary.read}, indexed {summary.indexed}, failed {summary.failed}"
              + (f" (see {summary.report})" if summary.failed else ""))
        for w in summary.warnings:
            print(f"warning: {w}", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.incremental import delete

    with SolrClient(settings, role="indexer") as client:
        deleted, missing = delete(settings, client, args.ids, alias=args.collection or settings.alias)
    print(f"deleted {len(deleted)}" + (f"; not found: {', '.join(missing)}" if missing else ""))
    return 1 if missing and not deleted else 0

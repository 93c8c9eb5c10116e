"""CLI: ``lookalike devset`` (the hard development sets) and ``lookalike eval`` (the quality harness)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lookalike.errors import BadRequest
from lookalike.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    from quality.devsets import DEFAULT_SELLERS, MAX_SELLERS, PRESETS, SETS

    p = sub.add_parser("compare", help="how a candidate index (index --no-swap) would change the answers")
    p.add_argument("candidate", help="the candidate collection (printed by `lookalike index --no-swap`)")
    p.add_argument("--alias", default=None, help="the live alias (default: settings.alias)")
    p.add_argument("--sample", type=int, default=200, help="products compared (seeded sample, default 200)")
    p.add_argument("-k", type=int, default=10, help="top k compared (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_compare)

    p = sub.add_parser("promote", help="point the alias at a candidate collection (built with index --no-swap)")
    p.add_argument("candidate", help="the candidate collection")
    p.add_argument("--alias", default=None, help="the alias (default: settings.alias)")
    p.add_argument("--min-overlap", type=float, default=None,
                   help="compare first and promote only if the mean overlap@10 with the live answers is at least this")
    p.add_argument("--sample", type=int, default=200, help="products compared for --min-overlap (default 200)")
    p.set_defaults(func=_promote)

    p = sub.add_parser("devset", help="generate a hard development set: products photographed by several sellers")
    p.add_argument("set", choices=list(SETS), help="sellers: the drawn demo designs; photos: crops of real photographs")
    p.add_argument("out", type=Path, help="output folder for catalog.jsonl and images/")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--designs", "--items", dest="items", type=int, default=None,
                      help=f"number of items (default: the main preset, {PRESETS['main']})")
    size.add_argument("--preset", choices=list(PRESETS), default=None,
                      help=", ".join(f"{k}: {v} items" for k, v in PRESETS.items()))
    p.add_argument("--sellers", type=int, default=DEFAULT_SELLERS,
                   help=f"pictures per item, one per seller, 2..{MAX_SELLERS} (default {DEFAULT_SELLERS})")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives byte-identical files")
    p.add_argument("--workers", type=int, default=None, help="drawing threads (default: the CPU count, at most 4)")
    p.set_defaults(func=_devset)

    from indexer.cli import add_recipe_arguments

    p = sub.add_parser("eval", help="measure retrieval quality (recall@k, mAP@k, rank-1) through the real index and query path")
    p.add_argument("catalog", type=Path, help="catalog file (JSON Lines) whose products share a ground-truth key")
    p.add_argument("--key", default="item", help="the field that says 'same item' (default: item; group works too)")
    p.add_argument("--filter-field", default=None,
                   help="also measure, per query and per other value of this field, that rank 1 under that filter is the same item")
    p.add_argument("--queries", type=int, default=None, help="a seeded sample of query products (default: all)")
    p.add_argument("--photo-queries", type=int, default=50, help="catalog images uploaded through photo search (default 50)")
    p.add_argument("-k", type=int, default=10, help="cut-off of recall and mAP (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples")
    p.add_argument("--mode", choices=["auto", "exact", "approx"], default="auto", help="query mode (default auto)")
    p.add_argument("--alias", default=None, help="evaluate this existing alias as it is instead of indexing the catalog")
    p.add_argument("--meta-collection", default=None,
                   help="the metadata collection of --alias (default: LOOKALIKE_META_COLLECTION)")
    p.add_argument("--keep", action="store_true", help="keep the evaluation index (alias eval_<folder>) afterwards")
    p.add_argument("--cold-cache", action="store_true",
                   help="embed every image again with an empty cache, so images/s is the true cost")
    p.add_argument("--no-baseline", action="store_true", help="skip the 16x16 pixel baseline")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--no-progress", action="store_true")
    add_recipe_arguments(p)
    p.set_defaults(func=_eval)


def _devset(args: argparse.Namespace, settings: Settings) -> int:
    from quality.devsets import PRESETS, generate

    items = args.items if args.items is not None else PRESETS[args.preset or "main"]
    started = time.monotonic()
    try:
        catalog = generate(args.set, args.out, items=items, sellers=args.sellers, seed=args.seed, workers=args.workers)
    except ValueError as err:
        raise BadRequest(str(err)) from err
    print(f"wrote {items} items x {args.sellers} sellers ({items * args.sellers} images) to {catalog} "
          f"in {time.monotonic() - started:.1f} s")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.cli import recipe_from_args
    from lookalike.connection import SolrClient
    from quality.harness import EvalOptions, evaluate

    for name in ("queries", "photo_queries"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise BadRequest(f"--{name.replace('_', '-')} must be at least 0, got {value}")
    index = recipe_from_args(args)
    if args.alias and index:
        raise BadRequest(f"--alias evaluates an index as it was built; drop {', '.join('--' + o for o in index)}")
    options = EvalOptions(key=args.key, filter_field=args.filter_field, queries=args.queries,
                          photo_queries=args.photo_queries, k=args.k, seed=args.seed, mode=args.mode,
                          alias=args.alias, meta_collection=args.meta_collection, index=index,
                          keep_index=args.keep, cold_cache=args.cold_cache, baseline=not args.no_baseline)
    with SolrClient(settings, role="indexer") as client:  # it indexes the catalog
        report = evaluate(settings, client, args.catalog, options, show_progress=not (args.no_progress or args.json))
    print(report.to_json() if args.json else report.to_text())
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from lookalike.connection import SolrClient
    from quality.shadow import compare

    with SolrClient(settings) as client:
        report = compare(settings, client, args.alias or settings.alias, args.candidate, sample=args.sample, k=args.k)
    print(json.dumps(report.as_dict(), sort_keys=True) if args.json else report.to_text())
    return 0


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.aliases import promote
    from lookalike.connection import SolrClient
    from quality.shadow import compare

    alias = args.alias or settings.alias
    with SolrClient(settings, role="indexer") as client:  # it moves the alias
        if args.min_overlap is not None:
            report = compare(settings, client, alias, args.candidate, sample=args.sample)
            print(report.to_text())
            if report.overlap < args.min_overlap:
                print(f"not promoted: overlap@10 {report.overlap:.3f} is below --min-overlap {args.min_overlap}; "
                      f"alias {alias} still serves {report.live}")
                return 1
        previous = promote(settings, client, alias, args.candidate)
    print(f"alias {alias} -> {args.candidate}" + (f" (was {previous}; `lookalike rollback` goes back)" if previous else ""))
    return 0

"""CLI: ``lookalike devset`` (the hard development sets)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lookalike.errors import BadRequest
from lookalike.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    from quality.devsets import DEFAULT_SELLERS, MAX_SELLERS, PRESETS, SETS

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

"""CLI: ``lookalike demo-catalog`` and ``lookalike import-fashion`` (catalog inputs)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lookalike.errors import BadRequest
from lookalike.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-catalog", help="draw a demo catalog of product pictures (offline, repeatable)")
    p.add_argument("out", type=Path, nargs="?", default=None,
                   help="output folder for catalog.jsonl and images/ (default: DATA_DIR/demo)")
    p.add_argument("--count", type=int, default=2000, help="number of products (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same catalog")
    p.add_argument("--workers", type=int, default=None, help="drawing threads (default: the CPU count, at most 4)")
    p.add_argument("--images", type=int, default=1, choices=(1, 2, 3),
                   help="pictures per product: 1, 2 (+ a back view) or 3 (+ a detail); default 1")
    p.set_defaults(func=_demo_catalog)

    p = sub.add_parser("import-fashion", help='convert the "Fashion Product Images" layout to a catalog')
    p.add_argument("folder", type=Path, help="folder holding styles.csv and images/")
    p.add_argument("out", type=Path, help="catalog to write (JSON Lines)")
    p.add_argument("--report", type=Path, default=None,
                   help="where rejected rows are listed (default: OUT with .errors.jsonl)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=_import_fashion)


def _demo_catalog(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.demo_catalog import generate, plan

    if args.count < 1:
        raise BadRequest(f"--count must be at least 1, got {args.count}")
    out = args.out or settings.data_dir / "demo"
    started = time.monotonic()
    catalog = generate(out, count=args.count, seed=args.seed, workers=args.workers, images=args.images)
    designs = len(plan(args.count, args.seed))
    per = f", {args.images} pictures each" if args.images > 1 else ""
    print(f"wrote {args.count} products ({designs} designs{per}) to {catalog} in {time.monotonic() - started:.1f} s")
    return 0


def _import_fashion(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.fashion import convert_fashion
    from indexer.report import ErrorReport

    report_path = args.report or args.out.with_name(args.out.stem + ".errors.jsonl")
    with ErrorReport(report_path) as report:
        summary = convert_fashion(args.folder, args.out, report)
    by_reason = report.counts_by_reason()
    if args.json:
        print(json.dumps({"products": summary.products, "failed": summary.failed, "failed_by_reason": by_reason,
                          "catalog": summary.catalog, "report": str(report_path)}))
    else:
        print(f"wrote {summary.products} products to {summary.catalog}")
        if summary.failed:
            reasons = ", ".join(f"{n} {reason}" for reason, n in by_reason.items())
            print(f"rejected {summary.failed} rows ({reasons}); listed in {report_path}")
    return 0

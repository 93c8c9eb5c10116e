"""``lookalike similar ID`` and ``lookalike search``: the query layer from the command line.

Both print the similar products as a table (rank, cosine similarity, score, id, title, group,
price) followed by the facets and a footer with the set size, the mode the planner chose and
why, Solr's QTime and the wall time; ``--json`` prints the :class:`SearchResponse` instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest, LookalikeError
from lookalike.meta import live_record
from lookalike.settings import Settings
from query.client import SearchService
from query.filters import parse_filters
from query.models import Filter, SearchRequest, SearchResponse, SimilarRequest, parse_request


def register(subparsers: argparse._SubParsersAction) -> None:
    similar = subparsers.add_parser("similar", help="products that look like product ID")
    similar.add_argument("id", help="product id")
    _add_options(similar)
    similar.set_defaults(func=cmd_similar)

    search = subparsers.add_parser("search", help="search by image, text and example products")
    search.add_argument("--image", type=Path, help="a photo to search with (embedded with the index's model and PCA)")
    search.add_argument("--text", help="free text (edismax over title and attributes)")
    search.add_argument("--like", action="append", default=[], metavar="ID", help="a positive example (repeatable)")
    search.add_argument("--unlike", action="append", default=[], metavar="ID", help="a negative example (repeatable)")
    search.add_argument("--combine", choices=["mean", "max"], default="mean", help="how several examples combine")
    search.add_argument("--unlike-weight", type=float, default=1.0, help="weight of the negative examples (default 1)")
    search.add_argument("--text-weight", type=float, default=0.5, help="most the text adds to an image score (default 0.5)")
    _add_options(search)
    search.set_defaults(func=cmd_search)


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--filter", action="append", default=[], metavar="FIELD:VALUE",
                   help="color:red, color:red|blue, price:10..50, price:..20; repeatable, the same field twice "
                        "means either value; field=value works too")
    p.add_argument("--more", action="append", default=[], metavar="FIELD:VALUE",
                   help="move the target toward that value's look, e.g. --more print:hawaiian (repeatable)")
    p.add_argument("--less", action="append", default=[], metavar="FIELD:VALUE",
                   help="move the target away from that value's look (repeatable)")
    p.add_argument("--direction-weight", type=float, default=1.5, help="how far --more/--less move it (default 1.5)")
    p.add_argument("-k", type=int, default=10, help="products to show (default 10)")
    p.add_argument("--offset", type=int, default=0, help="products to skip (paging)")
    p.add_argument("--candidates", type=int, default=100, help="size of the similar set without --min-similarity (default 100)")
    p.add_argument("--min-similarity", type=float, default=None, metavar="S", help="cosine similarity a product needs, -1..1")
    p.add_argument("--facet", action="append", default=[], metavar="FIELD", help="count FIELD's values over the similar set (repeatable)")
    p.add_argument("--facet-limit", type=int, default=10, help="values per facet (default 10)")
    p.add_argument("--mode", choices=["auto", "approx", "exact"], default="auto",
                   help="approx: HNSW kNN; exact: the lookalike plugin; auto: exact when the filters leave few products")
    p.add_argument("--variants", choices=["include", "exclude", "collapse"], default="include",
                   help="products of the same group as an example (default include)")
    p.add_argument("--include-self", action="store_true", help="keep the example products in the answer")
    stock = p.add_mutually_exclusive_group()
    stock.add_argument("--in-stock", dest="in_stock", action="store_const", const=True, help="only products in stock")
    stock.add_argument("--out-of-stock", dest="in_stock", action="store_const", const=False, help="only products out of stock")
    p.add_argument("--field", action="append", dest="fields", metavar="FIELD", help="fields to return (repeatable)")
    p.add_argument("--collection", help="collection or alias to search (default: LOOKALIKE_ALIAS)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "filters": parse_filters(args.filter),
        "more": tuple(Filter.parse(m) for m in args.more),
        "less": tuple(Filter.parse(m) for m in args.less),
        "direction_weight": args.direction_weight,
        "k": args.k,
        "offset": args.offset,
        "candidates": args.candidates,
        "min_similarity": args.min_similarity,
        "facets": args.facet,
        "facet_limit": args.facet_limit,
        "mode": args.mode,
        "variants": args.variants,
        "exclude_self": not args.include_self,
        "in_stock": args.in_stock,
        "fields": args.fields,
    }


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    request = parse_request(SimilarRequest, {"id": args.id, **_options(args)})
    with SolrClient(settings) as client:
        response = SearchService(settings, client, collection=args.collection).similar(request)
        warn_if_random_weights(settings, client, args.collection)
    _print(response, args.json)
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if not (args.like or args.image or (args.text and args.text.strip())):
        raise BadRequest("say what to search for: --like ID (a product), --image PHOTO or --text WORDS")
    data = {
        **_options(args),
        "like": args.like,
        "unlike": args.unlike,
        "text": args.text,
        "combine": args.combine,
        "unlike_weight": args.unlike_weight,
        "text_weight": args.text_weight,
    }
    with SolrClient(settings) as client:
        service = SearchService(settings, client, collection=args.collection)
        if args.image is not None:
            try:
                image = args.image.read_bytes()
            except OSError as err:
                raise BadRequest(f"cannot read {args.image}: {err.strerror}") from err
            service.embedder = args.open_embedder(settings, client)  # handed in by the CLI root
            vector = service.embedder.embed_query_image(image)
            data["vector"] = [float(x) for x in vector]
        response = service.search(parse_request(SearchRequest, data))
        warn_if_random_weights(settings, client, args.collection)
    _print(response, args.json)
    return 0


def warn_if_random_weights(settings: Settings, client: SolrClient, collection: str | None) -> None:
    """An index built with random model weights is a test index: say so on stderr."""
    try:
        record = live_record(settings, client, collection or settings.alias)
    except LookalikeError:  # not an alias with an index record (a hand-made collection)
        return
    if record.warning():
        print(f"warning: {record.warning()}", file=sys.stderr)


def _print(r: SearchResponse, as_json: bool) -> None:
    if as_json:
        print(json.dumps(r.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    print(format_table(r))


def format_table(r: SearchResponse) -> str:
    # the title takes what the terminal has left after the other columns (at least 48 characters)
    tw = max(48, shutil.get_terminal_size((120, 24)).columns - 66)
    lines = [f"{'#':>3}  {'similarity':>10}  {'score':>7}  {'id':<16} {'title':<{tw}} {'group':<12} {'price':>8}"]
    for n, p in enumerate(r.products, 1):
        sim = "-" if p.similarity is None else f"{p.similarity:.4f}"
        score = "-" if p.score is None else f"{p.score:.4f}"
        price = "" if p.price is None else f"{p.price:.2f}"
        lines.append(
            f"{n:>3}  {sim:>10}  {score:>7}  {_cut(p.id, 16):<16} {_cut(p.title or '', tw):<{tw}} "
            f"{_cut(p.group or '', 12):<12} {price:>8}"
        )
    if not r.products:
        lines.append("  (no products)")
    for f in r.facets:
        values = ", ".join(f"{b.value} ({b.count})" for b in f.buckets) or "-"
        lines.append(f"facet {f.name}: {values}")
    what = {"threshold": "above the threshold", "top": "in the similar set", "text": "matching the text"}[r.similar_set]
    lines.append(
        f"{r.total} products {what}; mode {r.mode} ({r.mode_reason}); "
        f"Solr QTime {r.qtime_ms} ms over {r.solr_requests} request(s), {r.took_ms:.1f} ms in all"
    )
    return "\n".join(lines)


def _cut(s: str, width: int) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= width else s[: width - 1] + "…"

"""``lookalike clusters ...``, ``lookalike propagate ...`` and ``lookalike gaps``: merchandising commands."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict
from typing import Any

from lookalike.connection import SolrClient
from lookalike.settings import Settings
from query.cli import warn_if_random_weights


def register(subparsers: argparse._SubParsersAction) -> None:
    cl = subparsers.add_parser("clusters", help="cluster the catalog's images; show and tag clusters")
    sub = cl.add_subparsers(dest="clusters_command", metavar="ACTION", required=True)

    b = sub.add_parser("build", help="k-means on the vectors; store cluster ids, medoids, sizes, over-represented values")
    _collection(b)
    b.add_argument("--k", type=int, default=None, help="number of clusters (default: chosen by silhouette near sqrt(n/2))")
    b.add_argument("--filter", action="append", default=[], metavar="F", help="cluster only these products: field:value, field:a|b, price:10..50 (field=value works too)")
    b.add_argument("--seed", type=int, default=0, help="random seed of k-means (default 0)")
    b.add_argument("--no-map", action="store_true",
                   help="do not lay out the catalog map now (the /merch page then does it on first open)")
    _json(b)
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("show", help="the stored clusters: size, medoid, over-represented values, missing attributes")
    _collection(s)
    s.add_argument("--top", type=int, default=None, metavar="N", help="only the N largest clusters (default: all)")
    _json(s)
    s.set_defaults(func=cmd_show)

    t = sub.add_parser("tag", help="write attribute=value to every product of a cluster, as one undoable batch")
    t.add_argument("cluster", type=int)
    _collection(t)
    _attr_value(t)
    _user(t)
    t.add_argument("--overwrite-human", action="store_true", help="also replace values a human set")
    _json(t)
    t.set_defaults(func=cmd_tag)

    pr = subparsers.add_parser("propagate", help="propagate an attribute from example products, review, apply, undo")
    psub = pr.add_subparsers(dest="propagate_command", metavar="ACTION", required=True)

    p = psub.add_parser("propose", help="start a proposal from positive (and negative) examples and list its candidates")
    _collection(p)
    _attr_value(p)
    p.add_argument("--like", nargs="+", required=True, metavar="ID", help="positive example product ids")
    p.add_argument("--unlike", nargs="*", default=[], metavar="ID", help="negative example product ids")
    _confidence(p, "minimum confidence 0-1 (default 0.5)")
    p.add_argument("--center-by", default="category", metavar="ATTR",
                   help="compare after removing the average look of each product's ATTR (default category: "
                        "the print counts, not the shape); 'none': raw vectors")
    p.add_argument("--combine", choices=["max", "mean"], default="mean", help="how examples combine (default mean)")
    p.add_argument("--unlike-weight", type=float, default=1.0, help="weight of the negative examples (default 1)")
    p.add_argument("--filter", action="append", default=[], metavar="F", help="only products passing this filter")
    _user(p)
    _limit(p)
    _json(p)
    p.set_defaults(func=cmd_propose)

    sh = psub.add_parser("show", help="a proposal's candidates, optionally at another threshold")
    sh.add_argument("proposal")
    _confidence(sh, "list at this minimum confidence (not saved; `decide --min-confidence` saves it)")
    _limit(sh)
    _json(sh)
    sh.set_defaults(func=cmd_show_proposal)

    d = psub.add_parser("decide", help="accept or reject candidates of a proposal")
    d.add_argument("proposal")
    d.add_argument("--accept", nargs="*", default=[], metavar="ID")
    d.add_argument("--reject", nargs="*", default=[], metavar="ID")
    d.add_argument("--accept-all", action="store_true",
                   help="accept every candidate above the minimum confidence not rejected or blocked by a human value")
    _confidence(d, "save a new minimum confidence for the proposal")
    _json(d)
    d.set_defaults(func=cmd_decide)

    a = psub.add_parser("apply", help="write the accepted candidates as one batch, with provenance")
    a.add_argument("proposal")
    _user(a)
    a.add_argument("--overwrite-human", action="store_true", help="also replace values a human set")
    _json(a)
    a.set_defaults(func=cmd_apply)

    u = psub.add_parser("undo", help="restore every product of a batch exactly as it was")
    u.add_argument("batch")
    _user(u)
    u.add_argument("--force", action="store_true", help="also restore products changed since the batch")
    _json(u)
    u.set_defaults(func=cmd_undo)

    ls = psub.add_parser("batches", help="applied and undone batches, newest first")
    _collection(ls)
    ls.add_argument("--attribute", default=None)
    _json(ls)
    ls.set_defaults(func=cmd_batches)

    c = psub.add_parser("close", help="close a proposal (it stops counting in gap reports)")
    c.add_argument("proposal")
    c.set_defaults(func=cmd_close)

    g = subparsers.add_parser("gaps", help="products lacking an attribute, by category, and what propagation would fill")
    g.add_argument("attribute")
    _collection(g)
    g.add_argument("--by", default="category", help="attribute to break down by (default category)")
    _confidence(g, "count fills at this minimum confidence instead of each proposal's")
    _json(g)
    g.set_defaults(func=cmd_gaps)


# -- options -------------------------------------------------------------------------------------
def _collection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", default=None, help="collection or alias (default: LOOKALIKE_ALIAS, products)")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _attr_value(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attribute", required=True, help="attribute name without type suffix, e.g. pattern")
    p.add_argument("--value", required=True, help="the value to write, e.g. hawaiian")


def _confidence(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--min-confidence", type=float, default=None, metavar="C", help=text)
    p.add_argument("--threshold", type=float, default=None, metavar="S",
                   help="the same cut as a similarity (what Solr ranks by; centred similarity may pass 1)")


def _threshold(args: argparse.Namespace) -> float | None:
    from merch.propagation import resolve_threshold

    return resolve_threshold(args.threshold, args.min_confidence)


def _user(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", default=None, help="who does this (default: the login name)")


def _limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=50, help="candidates to list (default 50)")


def _who(args: argparse.Namespace) -> str:
    return args.user or getpass.getuser()


def _coll(args: argparse.Namespace, settings: Settings) -> str:
    return args.collection or settings.alias


def _dump(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    print()


# -- clusters ------------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from merch import clusters
    from merch.filters import parse_filters
    from merch.store import MerchStore

    with SolrClient(settings, role="indexer") as client:
        MerchStore(client, settings).ensure()
        result = clusters.build(settings, client, _coll(args, settings), k=args.k,
                                filters=parse_filters(args.filter), random_state=args.seed)
        warn_if_random_weights(settings, client, _coll(args, settings))
    if args.json:
        _dump(result.as_dict(centroids=False))
    else:
        print(f"{result.count} products of {result.collection} in {result.k} clusters "
              f"(k by {result.k_rule}, {result.algorithm})")
        if result.without_vector:
            print(f"{result.without_vector} product(s) have no vector and are in no cluster")
        _print_clusters(result, top=BUILD_SHOWS)
        print("timings: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings_s.items()))
    if not args.filter and not args.no_map:
        _prepare_map(settings, _coll(args, settings), quiet=args.json)
    return 0


def _prepare_map(settings: Settings, collection: str, *, quiet: bool) -> None:
    """Lay out the catalog map now (cached per index version), so /merch opens it at once."""
    from merch import catalog_map

    with SolrClient(settings, role="indexer") as client:
        m = catalog_map.catalog_map(settings, client, collection)
    if not quiet:
        print(f"catalog map: {m['shown']} products laid out in {m['timings_s']['layout_s']:.1f} s"
              + (f" (a sample of {m['with_vector']})" if m["sampled"] else ""))


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from merch import clusters

    with SolrClient(settings, role="indexer") as client:
        result = clusters.load(settings, client, _coll(args, settings))
    if args.json:
        _dump(result.as_dict(centroids=False))
    else:
        print(f"{result.collection}: {result.k} clusters of {result.count} products, built {result.created}")
        _print_clusters(result, top=args.top)
    return 0


BUILD_SHOWS = 10  # clusters `clusters build` lists; `clusters show` lists them all


def _print_clusters(result: Any, *, top: int | None = None) -> None:
    """The ``top`` largest clusters (all when None), and how to see the others."""
    ranked = sorted(result.clusters, key=lambda c: (-c.size, c.id))
    shown = ranked if top is None else ranked[:max(0, top)]
    for c in shown:
        over = ", ".join(f"{o['attribute']}={o['value']} ({o['cluster_share']:.0%} vs {o['catalog_share']:.0%})"
                         for o in c.over[:3]) or "-"
        missing = ", ".join(f"{a} {n}" for a, n in c.missing.items()) or "-"
        label = f" [{c.label}]" if c.label else ""
        print(f"  {c.id:3d}{label}  size {c.size:5d}  medoid {c.medoid}  over: {over}  missing: {missing}")
    if len(shown) < len(ranked):
        print(f"  ... and {len(ranked) - len(shown)} smaller clusters: `lookalike clusters show` lists them all")


def cmd_tag(args: argparse.Namespace, settings: Settings) -> int:
    from merch import batches

    with SolrClient(settings, role="indexer") as client:
        batch = batches.tag_cluster(settings, client, _coll(args, settings), args.cluster,
                                    attribute=args.attribute, value=args.value, user=_who(args),
                                    overwrite_human=args.overwrite_human)
    _print_batch(batch, args.json)
    return 0


# -- propagation ---------------------------------------------------------------------------------
def cmd_propose(args: argparse.Namespace, settings: Settings) -> int:
    from merch import propagation
    from merch.filters import parse_filters
    from merch.store import MerchStore

    with SolrClient(settings, role="indexer") as client:
        MerchStore(client, settings).ensure()
        p = propagation.propose(
            settings, client, _coll(args, settings), attribute=args.attribute, value=args.value,
            positives=args.like, negatives=args.unlike,
            threshold=propagation.DEFAULT_THRESHOLD if _threshold(args) is None else _threshold(args),
            combine=args.combine, unlike_weight=args.unlike_weight, filters=parse_filters(args.filter),
            user=_who(args), center_by=args.center_by)
        view = propagation.review(settings, client, p, limit=args.limit)
        warn_if_random_weights(settings, client, _coll(args, settings))
    _print_candidates(view, args.json)
    return 0


def cmd_show_proposal(args: argparse.Namespace, settings: Settings) -> int:
    from merch import propagation

    with SolrClient(settings, role="indexer") as client:
        p = propagation.load_proposal(settings, client, args.proposal)
        view = propagation.review(settings, client, p, threshold=_threshold(args), limit=args.limit)
    _print_candidates(view, args.json)
    return 0


def _print_candidates(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _dump(view)
        return
    p, cands, total = view["proposal"], view["candidates"], view["total"]
    print(f"proposal {p['id']} ({p['state']}): {p['attribute']}={p['value']} from {', '.join(p['positives'])}"
          + (f" (not like {', '.join(p['negatives'])})" if p["negatives"] else "")
          + f"; {total} candidate(s) at confidence >= {view['min_confidence']:.2f} (similarity {view['threshold']:.3f});"
          + f" {view['accepted']} accepted, {view['rejected']} rejected")
    print(f"  {view['scoring']}")
    print(f"  {'':3s} {'confidence':>10s}  {'id':20s} {'title':40s} category")
    for c in cands:
        flag = {"accept": "[x]", "reject": "[-]"}.get(c["decision"] or "", "[ ]")
        note = f"  BLOCKED: {c['blocked']}" if c["blocked"] else (f"  (now {c['current']}, {c['origin']})" if c["current"] else "")
        doc = c["doc"]
        print(f"  {flag} {c['confidence']:10.3f}  {c['id']:20s} {str(doc.get('title') or '-')[:40]:40s} "
              f"{doc.get('category_s') or '-'}  closest to {c['closest']}{note}")
    if total > len(cands):
        print(f"  ... and {total - len(cands)} more (--limit)")
    if view["acceptable"] and p["state"] == "open":
        print(f"  accept all {view['acceptable']}: `lookalike propagate decide {p['id']} --accept-all`; "
              f"then `lookalike propagate apply {p['id']}` (the examples are tagged too)")
    for b in view["batches"]:
        print(f"  batch {b['id']}: {b['state']}, {b['written']} written by {b['user']} {b['created']}")


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from merch import propagation

    with SolrClient(settings, role="indexer") as client:
        if args.reject or args.accept:
            p = propagation.decide(settings, client, args.proposal, accept=args.accept, reject=args.reject,
                                   threshold=_threshold(args))
        if args.accept_all:
            p = propagation.accept_all(settings, client, args.proposal, threshold=_threshold(args))
        elif not (args.reject or args.accept):
            p = propagation.decide(settings, client, args.proposal, threshold=_threshold(args))
    counts = {d: sum(1 for v in p.decisions.values() if v == d) for d in ("accept", "reject")}
    from merch.records import confidence

    if args.json:
        _dump({"proposal": p.id, "threshold": p.threshold, "min_confidence": round(confidence(p.threshold), 4), **counts})
    else:
        print(f"proposal {p.id}: {counts['accept']} accepted, {counts['reject']} rejected, "
              f"minimum confidence {confidence(p.threshold):.2f}; `lookalike propagate apply {p.id}` writes them")
    return 0


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    from merch import propagation

    with SolrClient(settings, role="indexer") as client:
        batch = propagation.apply(settings, client, args.proposal, user=_who(args),
                                  overwrite_human=args.overwrite_human)
    _print_batch(batch, args.json)
    return 0


def cmd_undo(args: argparse.Namespace, settings: Settings) -> int:
    from merch import batches

    with SolrClient(settings, role="indexer") as client:
        batch = batches.undo(settings, client, args.batch, user=_who(args), force=args.force)
    if args.json:
        _dump(asdict(batch))
    else:
        print(f"batch {batch.id} undone: {batch.written - len(batch.undo_conflicts)} product(s) restored")
        for c in batch.undo_conflicts:
            print(f"  left alone: {c['id']}: {c['reason']} (use --force to restore anyway)")
    return 0 if not batch.undo_conflicts else 1


def _print_batch(batch: Any, as_json: bool) -> None:
    if as_json:
        _dump(asdict(batch))
        return
    print(f"batch {batch.id}: {batch.attribute}={batch.value} written to {batch.written} product(s) "
          f"by {batch.user}; undo with `lookalike propagate undo {batch.id}`")
    for s in batch.skipped[:20]:
        print(f"  skipped {s['id']}: {s['reason']}")
    if len(batch.skipped) > 20:
        print(f"  ... {len(batch.skipped) - 20} more skipped")


def cmd_batches(args: argparse.Namespace, settings: Settings) -> int:
    from merch import batches

    with SolrClient(settings, role="indexer") as client:
        found = batches.list_batches(settings, client, collection=_coll(args, settings), attribute=args.attribute)
    if args.json:
        _dump([asdict(b) for b in found])
    else:
        for b in found:
            print(f"{b.id}  {b.state:8s}  {b.attribute}={b.value}  {b.written} product(s)  by {b.user} {b.created}"
                  f"  from {b.source.get('kind')}")
    return 0


def cmd_close(args: argparse.Namespace, settings: Settings) -> int:
    from merch import propagation

    with SolrClient(settings, role="indexer") as client:
        p = propagation.close_proposal(settings, client, args.proposal)
    print(f"proposal {p.id} closed")
    return 0


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from merch import gaps

    with SolrClient(settings, role="indexer") as client:
        report = gaps.gap_report(settings, client, _coll(args, settings), args.attribute, by=args.by,
                                 threshold=_threshold(args))
        warn_if_random_weights(settings, client, _coll(args, settings))
    if args.json:
        _dump(report)
        return 0
    fill = "" if report["would_fill"] is None else f"; propagation would fill {report['would_fill']}"
    print(f"{report['attribute']}: {report['lacking']} of {report['products']} products lack it{fill}")
    print(f"  {report['by']:20s} {'products':>9s} {'lacking':>8s} {'would fill':>11s}")
    for r in report["rows"]:
        name = "(none)" if r[report["by"]] is None else str(r[report["by"]])
        wf = "-" if r["would_fill"] is None else str(r["would_fill"])
        print(f"  {name:20s} {r['products']:9d} {r['lacking']:8d} {wf:>11s}")
    for p in report["proposals"]:
        print(f"  proposal {p['proposal']}: {report['attribute']}={p['value']} at confidence >= {p['min_confidence']:.2f}"
              f" fills {p['would_fill']}")
    if report["note"]:
        print(report["note"])
    return 0

"""``lookalike merchandiser add|remove|list``: the named merchandisers who may sign in to /merch."""

from __future__ import annotations

import argparse

from lookalike.settings import Settings
from merch import identities


def register(subparsers: argparse._SubParsersAction) -> None:
    m = subparsers.add_parser("merchandiser", help="add, remove or list the merchandisers who may sign in")
    sub = m.add_subparsers(dest="merchandiser_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a merchandiser and print their token (shown once, stored hashed)")
    add.add_argument("name")
    add.add_argument("--replace", action="store_true", help="give an existing merchandiser a new token")
    add.add_argument("--exist-ok", action="store_true",
                     help="a merchandiser of that name existing already is fine (nothing printed but a note)")
    add.set_defaults(func=cmd_add)
    rm = sub.add_parser("remove", help="remove a merchandiser (their token stops working at once)")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_remove)
    ls = sub.add_parser("list", help="the merchandisers and when each token was made")
    ls.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    path = identities.merchandisers_path(settings)
    if args.exist_ok and not args.replace and args.name in identities.load(path):
        print(f"merchandiser {args.name} exists already (their token was shown when it was made; "
              f"`lookalike merchandiser add {args.name} --replace` makes a new one)")
        return 0
    token = identities.add(settings, args.name, replace=args.replace)
    print(f"merchandiser {args.name}: token {token}")
    print(f"(shown once; stored hashed in {path}) sign in on the /merch page with it, "
          "or send `Authorization: Bearer <token>`")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    identities.remove(settings, args.name)
    print(f"removed merchandiser {args.name}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    entries = identities.load(identities.merchandisers_path(settings))
    for name, entry in sorted(entries.items()):
        print(f"{name}  token made {entry.get('created', '?')}")
    if not entries:
        print("no merchandiser yet: `lookalike merchandiser add NAME`")
    return 0

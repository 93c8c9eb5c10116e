"""The ``lookalike`` command.

Each area registers its own subcommands (``register(subparsers)``) and gets the one
:class:`Settings` object. Errors are mapped here, once: a :class:`LookalikeError`
prints ``error: <message>`` on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from lookalike.errors import LookalikeError
from lookalike.settings import Settings

# Modules that add subcommands, in the order they appear in --help.
COMMAND_MODULES = [
    "lookalike.solr.cli",
    "indexer.cli",
    "indexer.cli_demo",
    "query.cli",
    "app.serve_cli",
    "merch.cli",
    "merch.identities_cli",
    "quality.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike", description="Visual similarity search for product catalogs, on Apache Solr."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # what the query commands search by photo with: the indexer's, handed down (query never imports it)
    parser.set_defaults(open_embedder=open_photo_embedder)
    return parser


def open_photo_embedder(settings: Settings, client):
    """The indexer's photo embedder, imported on use: it loads scikit-learn (seconds), which
    `lookalike --help` and every command without a photo should not pay for."""
    from indexer.photo_vectors import open_photo_embedder as open_embedder

    return open_embedder(settings, client)


def _settings() -> Settings:
    """The settings from the environment; a bad value is a ConfigError naming its variable."""
    from pydantic import ValidationError

    from lookalike.errors import ConfigError

    try:
        return Settings()
    except ValidationError as err:
        problems = "; ".join(f"LOOKALIKE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                             for e in err.errors())
        raise ConfigError(f"bad setting: {problems}") from err


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        # TensorFlow's C++ logging below errors is noise for a CLI user (its start-up lines, which
        # that setting does not reach, are held back where it is imported: indexer/models/tf_import.py)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings()
        return int(args.func(args, settings) or 0)
    except LookalikeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""CLI: `lookalike serve`: the HTTP API and the storefront page, with uvicorn."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

from lookalike.errors import ConfigError
from lookalike.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API (/api, /docs) and the storefront page (/)")
    p.add_argument("--host", default=None, help="address to listen on (default: settings.api_host)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default: settings.api_port, 8000)")
    p.add_argument(
        "--images-root",
        type=Path,
        default=None,
        help="folder product images are served from (default: LOOKALIKE_IMAGES_ROOT, else the folder of the "
        "catalog the index was built from)",
    )
    p.add_argument("--workers", type=int, default=None,
                   help="processes to serve with (default: LOOKALIKE_API_WORKERS, 1); a storefront under load wants "
                   "one per core, each holds its own Solr connections and, after the first photo search, its own model")
    p.set_defaults(func=_serve)


def server_options() -> dict[str, Any]:
    """uvicorn's options: its fastest event loop and HTTP parser where installed (``uvicorn[standard]``
    brings uvloop and httptools; else asyncio and h11), named rather than left to "auto" so the
    banner can say which run. No proxy-header rewriting (the app never reads the client's
    address, and it saves a middleware per request) and no ``server: uvicorn`` header."""
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        "access_log": False,
    }


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    workers = args.workers or settings.api_workers
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if args.images_root is not None:
        settings = settings.model_copy(update={"images_root": args.images_root})
    from merch import identities

    base = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    print(f"Lookalike storefront: {base}/", flush=True)
    names = sorted(identities.load(identities.merchandisers_path(settings)))
    print(f"Merchandising: {base}/merch, signed in with a merchandiser's token "
          + (f"({', '.join(names)}; a new one: `lookalike merchandiser add NAME`)" if names
             else "(none yet: `lookalike merchandiser add NAME` prints one)"), flush=True)
    options = server_options()
    print(f"Serving with {workers} worker{'s' if workers > 1 else ''}: event loop {options['loop']}, "
          f"HTTP parser {options['http']}", flush=True)
    if workers == 1:
        from app.web import create_app

        uvicorn.run(create_app(settings), host=host, port=port, **options)
    else:
        # each worker process builds its app from the environment: pass what the command line set
        if settings.images_root is not None:
            os.environ["LOOKALIKE_IMAGES_ROOT"] = str(settings.images_root)
        uvicorn.run("app.web:app_from_environment", factory=True, host=host, port=port, workers=workers, **options)
    return 0

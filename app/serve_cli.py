"""CLI: `lookalike serve`: the HTTP API and the storefront page, with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path

from lookalike.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API (/api, /docs) and the storefront page (/)")
    p.add_argument("--host", default=None, help="address to listen on (default: settings.api_host)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default: settings.api_port, 8000)")
    p.add_argument(
        "--images-root",
        type=Path,
        default=None,
        help="folder product images are served from (default: the folder of the catalog the index was built from)",
    )
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.web import create_app

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    app = create_app(settings, images_root=args.images_root)
    print(f"Lookalike storefront: http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0

"""A bounded load test of a running Lookalike app, loopback only: 2-4 clients for a few minutes.

    .venv/bin/lookalike serve --port 8000 &      # over an indexed catalog (make demo does both)
    .venv/bin/python -m benchmarks.load_api --url http://127.0.0.1:8000 --clients 3 --seconds 120

Each client loops over a mix: similar (auto, approx, exact, filtered), search by example and
text, a product, an image, hostile input (a lone surrogate, a 9,000-character id, a macro in a
filter) and, now and then, a photo upload of 6300x6300 pixels (the decode limit's worst case).
It prints requests, answers by status, latency percentiles per kind, and the server's RSS
(sampled from /proc by the port's listening process, when it runs on this machine). Only
loopback addresses are accepted: this is not a tool to point at someone else's server.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import random
import socket
import statistics
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlparse

import requests

KINDS = ["similar", "similar_exact", "similar_filter", "search_like", "search_text", "product", "image",
         "hostile", "upload_big"]
WEIGHTS = [20, 8, 12, 10, 8, 10, 8, 10, 1]


def _loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        addresses = {ai[4][0] for ai in socket.getaddrinfo(host, None)}
    except socket.gaierror as err:
        raise SystemExit(f"cannot resolve {host}: {err}") from err
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise SystemExit(f"{url} is not a loopback address: this load test only runs against this machine")


def _server_pid(port: int) -> int | None:
    """The pid listening on ``port`` (from /proc/net/tcp and the processes' socket inodes)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def _rss_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _big_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (6300, 6300), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--clients", type=int, default=3, choices=[2, 3, 4])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--write", action="store_true",
                    help="also keep them in benchmarks/results/load.json (BENCHMARKS.md's load section)")
    ap.add_argument("--catalog", default="a demo catalog", help="how to describe the served catalog in that file")
    args = ap.parse_args(argv)
    if not 10 <= args.seconds <= 600:
        raise SystemExit("--seconds must be between 10 and 600 (a bounded run)")
    base = args.url.rstrip("/")
    _loopback(base)
    with requests.Session() as s:
        page = s.get(f"{base}/api/search", timeout=30)  # 405: the app answers
        if page.status_code >= 500:
            raise SystemExit(f"{base} is not healthy: {page.status_code}")
        listing = s.get(f"{base}/api/products", params={"per_page": 100}, timeout=60).json()
        ids = [p["id"] for p in listing.get("products", [])]
    if not ids:
        raise SystemExit("the catalog answered no product to ask about")
    big = _big_png()
    pid = _server_pid(urlparse(base).port or 80)
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    status: Counter = Counter()
    latency: dict[str, list[float]] = defaultdict(list)
    by_kind_status: dict[str, Counter] = defaultdict(Counter)
    rss: list[float] = []

    def client(n: int) -> None:
        rng = random.Random(args.seed * 100 + n)
        with requests.Session() as http:
            while time.monotonic() < deadline:
                kind = rng.choices(KINDS, WEIGHTS)[0]
                pid_ = rng.choice(ids)
                t0 = time.perf_counter()
                try:
                    if kind == "similar":
                        r = http.get(f"{base}/api/products/{pid_}/similar", params={"k": 12}, timeout=60)
                    elif kind == "similar_exact":
                        r = http.get(f"{base}/api/products/{pid_}/similar", params={"k": 12, "mode": "exact"}, timeout=60)
                    elif kind == "similar_filter":
                        r = http.get(f"{base}/api/products/{pid_}/similar",
                                     params={"k": 12, "filter": rng.choice(["color:red", "color:blue", "price:10..50"])},
                                     timeout=60)
                    elif kind == "search_like":
                        r = http.post(f"{base}/api/search", json={"like": rng.sample(ids, 2), "k": 12}, timeout=60)
                    elif kind == "search_text":
                        r = http.post(f"{base}/api/search", json={"text": rng.choice(["shirt", "red dress", "floral"]),
                                                                 "k": 12}, timeout=60)
                    elif kind == "product":
                        r = http.get(f"{base}/api/products/{pid_}", timeout=60)
                    elif kind == "image":
                        r = http.get(f"{base}/images/{pid_}", timeout=60)
                    elif kind == "hostile":
                        r = rng.choice([
                            lambda: http.post(f"{base}/api/search", data=b'{"like":["\\ud800"]}',
                                              headers={"Content-Type": "application/json"}, timeout=60),
                            lambda: http.get(f"{base}/api/products/{'x' * 9000}", timeout=60),
                            lambda: http.get(f"{base}/api/products/{pid_}/similar",
                                             params={"filter": "color:${x:red}"}, timeout=60),
                        ])()
                    else:
                        r = http.post(f"{base}/api/search/image", files={"file": ("big.png", big)},
                                      params={"k": 6}, timeout=120)
                    code = r.status_code
                except requests.RequestException:
                    code = 0  # a reset or timeout: counted as its own failure
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    status[code] += 1
                    by_kind_status[kind][code] += 1
                    latency[kind].append(ms)

    def sample() -> None:
        while pid and time.monotonic() < deadline:
            value = _rss_mb(pid)
            if value is not None:
                rss.append(value)
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=sample))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    total = sum(status.values())

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else 0.0)

    figures = {
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": total,
        "requests_per_s": round(total / elapsed, 1), "status": {str(k): v for k, v in sorted(status.items())},
        "by_kind": {k: {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1),
                        "status": {str(c): n for c, n in sorted(by_kind_status[k].items())}}
                    for k, v in sorted(latency.items())},
        "server_rss_mb": {"min": round(min(rss), 1), "max": round(max(rss), 1), "last": round(rss[-1], 1)} if rss else None,
    }
    if args.write:
        from datetime import datetime, timezone
        from pathlib import Path

        kept = {**figures, "catalog": args.catalog,
                "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + f", load {os.getloadavg()[0]:.1f}"}
        out = Path(__file__).parent / "results" / "load.json"
        out.write_text(json.dumps(kept, indent=2) + "\n")
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{total} requests in {elapsed:.0f} s from {args.clients} clients ({figures['requests_per_s']}/s); "
              f"status {figures['status']}")
        for kind, f in figures["by_kind"].items():
            print(f"  {kind:15s} n={f['n']:5d}  p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  {f['status']}")
        if rss:
            print(f"server RSS: {figures['server_rss_mb']}")
    return 1 if any(c >= 500 and c != 503 or c == 0 for c in status) else 0


if __name__ == "__main__":
    raise SystemExit(main())

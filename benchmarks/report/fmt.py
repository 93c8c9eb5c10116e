"""Formatting and row selection shared by every section of the report."""

from __future__ import annotations

import math

def where(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def one(rows, **kw):
    found = where(rows, **kw)
    return found[0] if found else None


def f(x, nd=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        if abs(x) >= 100:
            return f"{x:.0f}"
        return f"{x:.{nd}f}"
    return str(x)


def ratio(a, b):
    if not a or not b or any(isinstance(v, float) and math.isnan(v) for v in (a, b)):
        return None
    return a / b


def fx(r):
    return "–" if r is None else (f"{r:.1f}x" if r >= 1.5 or r < 0.67 else f"{r:.2f}x")


def size_label(n):
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def sel_label(s):
    return "100%" if s >= 1 else f"{s * 100:g}%"


def params_label(p):
    return ", ".join(f"{k}={v}" for k, v in (p or {}).items()) or "–"


def table(header, body):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


DEFAULT_PARAM = {"faiss IndexHNSWFlat": "efSearch", "hnswlib": "ef", "Solr {!knn} HNSW": "topK"}


def is_default(r, default_ef):
    key = DEFAULT_PARAM.get(r["method"])
    return key is None or r.get("params", {}).get(key) == default_ef

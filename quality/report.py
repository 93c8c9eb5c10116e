"""What one evaluation measured (:class:`EvalReport`), as text or JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EvalReport:
    catalog: str
    key: str
    filter_field: str | None
    products: int
    items: int
    k: int
    mode: str
    similar: dict[str, Any] = field(default_factory=dict)  # metrics.Summary.as_dict()
    filtered: dict[str, Any] | None = None  # field, values, queries, rank1
    by_value: dict[str, Any] | None = None  # filter value of the query -> metrics.Summary.as_dict()
    photo: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None  # side, grey: {...}, rgb: {...}
    index: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(_finite(self.as_dict()), sort_keys=True, allow_nan=False)

    def to_text(self) -> str:
        k = self.k
        ix = self.index
        recipe = ", ".join(f"{a}={b}" for a, b in sorted((ix.get("recipe") or {}).items()))
        lines = [f"{self.catalog}: {self.products} indexed products, {self.items} items (key {self.key})",
                 f"index {ix.get('alias')} -> {ix.get('collection')}: {recipe}"]
        s = self.similar
        lines.append(f"similar-by-id ({s['queries']} queries, mode {self.mode}): recall@{k} {_f(s['recall_at_k'])}, "
                     f"mAP@{k} {_f(s['map_at_k'])}, rank-1 {_f(s['rank1'])}")
        if self.by_value:
            lines.append(f"  recall@{k} by the query's {self.filter_field}: "
                         + ", ".join(f"{v} {_f(m['recall_at_k'])}" for v, m in self.by_value.items()))
        if self.filtered:
            f = self.filtered
            lines.append(f"under a {f['field']} filter ({f['queries']} queries over {f['values']} values): "
                         f"the asked {f['field']}'s rendering first {_f(f['rank1'])}")
        if self.photo:
            p = self.photo
            lines.append(f"photo search ({p['queries']} uploads): recall@{k} {_f(p['recall_at_k'])}, "
                         f"mAP@{k} {_f(p['map_at_k'])}, rank-1 {_f(p['rank1'])}")
        if self.baseline:
            for mode in ("grey", "rgb"):
                b = self.baseline[mode]
                extra = f", {self.filter_field} rank-1 {_f(b['filtered_rank1'])}" if "filtered_rank1" in b else ""
                lines.append(f"floor, {self.baseline['side']}x{self.baseline['side']} {mode} pixels (L2): "
                             f"recall@{k} {_f(b['recall_at_k'])}, mAP@{k} {_f(b['map_at_k'])}, rank-1 {_f(b['rank1'])}{extra}")
        if ix.get("indexed") is not None:
            speed = ix.get("embed_images_per_s")
            lines.append(f"indexing: {ix['indexed']} images in {ix['index_seconds']:.1f} s, embedded {ix['embedded']} "
                         f"({ix['cache_hits']} from the cache)" + (f", {speed:.1f} images/s embedding" if speed else ""))
        size = ix.get("size_bytes")
        lines.append(f"vectors {ix.get('dims')}-d" + (f", index {size / 1e6:.1f} MB" if size else "")
                     + ("; kept: evaluate it again with --alias {alias} --meta-collection {meta}".format(
                         alias=ix.get("alias"), meta=ix.get("meta_collection")) if ix.get("kept")
                        else "; the evaluation index was removed"))
        lines += [f"warning: {w}" for w in ix.get("warnings", [])]
        lines.append(f"took {self.seconds:.1f} s")
        return "\n".join(lines)


def _f(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _finite(x: Any) -> Any:
    """NaN (a measure with no query) becomes null: JSON has no NaN."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x

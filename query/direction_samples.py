"""The samples behind attribute directions: what "more floral" is measured on, read from Solr.

:mod:`query.directions` holds the arithmetic (pure); this module reads its inputs: up to
``DIRECTION_SAMPLE`` products with the value, the catalog sample every direction is centred on
and, when the catalog has a ``category`` attribute, the mean of each category those products are
in. A direction costs two or three Solr requests the first time and none after: the directions
and the centring sample are kept until the search service reads the schema again (a reindex
changes both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lookalike.errors import BadRequest
from lookalike.solr_syntax import any_of
from query.directions import centred_direction, shift, steer
from query.filters import filter_query
from query.models import Filter, SearchRequest
from query.schema import Schema

DIRECTION_SAMPLE = 2000  # products read per attribute direction (and per category mean)
CATEGORY_FIELD = "category_s"  # what directions are centred on, when the catalog has it


class DirectionSamples:
    """Attribute directions of one collection, read through ``select`` (Solr's ``/select``)."""

    def __init__(self, select: Callable[[dict[str, Any]], dict[str, Any]]):
        self._select = select
        self._directions: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._catalog: dict[str, list[dict[str, Any]]] = {}  # the centring sample, by fl

    def clear(self) -> None:
        """Forget every direction and sample (the schema was read again)."""
        self._directions.clear()
        self._catalog.clear()

    def steered(self, request: SearchRequest, target: np.ndarray, schema: Schema) -> np.ndarray:
        """``target`` moved toward ``request.more`` and away from ``request.less``."""
        more, less = self._directions_of(request, schema)
        return steer(target, more, less, request.direction_weight)

    def shift(self, request: SearchRequest, schema: Schema) -> np.ndarray:
        """What the plugin adds to the examples' target it reads itself (the same move)."""
        more, less = self._directions_of(request, schema)
        return shift(more, less, request.direction_weight)

    def _directions_of(self, request: SearchRequest, schema: Schema) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [self.direction(schema, f) for f in request.more], [self.direction(schema, f) for f in request.less]

    def direction(self, schema: Schema, f: Filter) -> np.ndarray:
        """The category-centred direction of ``f``'s value(s), from up to DIRECTION_SAMPLE products
        that have it and as many of their categories."""
        key = (f.field, tuple(str(v) for v in f.values))
        if key in self._directions:
            return self._directions[key]
        category = schema.fields.get(CATEGORY_FIELD)
        cat = category.name if category is not None and category.kind == "string" and not category.multi_valued else None
        fl = "id,vector" + (f",{cat}" if cat else "")
        with_value = self._sample({"q": "*:*", "fq": filter_query(f, schema), "fl": fl})
        if not with_value:
            raise BadRequest(f"no product has {f.field} {'|'.join(map(str, f.values))}: nothing to move toward")
        catalog = self._catalog_sample(fl)
        catalog_mean = _unit_mean([d["vector"] for d in catalog])
        means: dict[object, np.ndarray] | None = None
        if cat:
            by_cat: dict[object, list] = {}
            for d in catalog:
                by_cat.setdefault(d.get(cat), []).append(d["vector"])
            for c in {d.get(cat) for d in with_value} - set(by_cat):  # categories the sample missed
                rows = self._sample({"q": "*:*", "fq": any_of(cat, [str(c)]), "fl": fl})
                by_cat[c] = [d["vector"] for d in rows]
            means = {c: _unit_mean(vs) for c, vs in by_cat.items() if vs}
        d = centred_direction(np.asarray([d["vector"] for d in with_value]),
                              [d.get(cat) for d in with_value] if cat else None, means, catalog_mean)
        self._directions[key] = d
        return d

    def _catalog_sample(self, fl: str) -> list[dict[str, Any]]:
        """The products every direction is centred on, read once per schema (not per value)."""
        if fl not in self._catalog:
            self._catalog[fl] = self._sample({"q": "*:*", "fl": fl})
        return self._catalog[fl]

    def _sample(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        resp = self._select({**params, "rows": DIRECTION_SAMPLE, "sort": "id asc"})
        return [d for d in resp["response"]["docs"] if d.get("vector")]


def _unit_mean(vectors: list) -> np.ndarray:
    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return x.mean(axis=0)

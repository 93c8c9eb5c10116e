"""Filters: the one grammar users type, and the one rule that turns a filter into an ``fq``.

Used by the query layer's CLI and HTTP API, by the storefront and merch pages (through the
API) and by merch. The grammar of one filter is :meth:`query.models.Filter.parse`
(``field:value``, ``field:a|b``, ``field:min..max``; ``=`` accepted for ``:``); a list of
them is :func:`parse_filters`. :func:`filter_query` checks the field against the
collection's :class:`~query.schema.Schema` and every value against the field's kind, and
quotes values with :func:`lookalike.solr_syntax.quote`.
"""

from __future__ import annotations

import math

from lookalike.errors import BadRequest
from lookalike.solr_syntax import any_of, check_identifier, local_params, number
from query.models import Filter, parse_request
from query.schema import FieldInfo, Schema

FILTER_TAG = "filter"  # every user filter's tag: the kNN pre-filter includes exactly these


def parse_filters(texts: list[str] | tuple[str, ...] | None) -> tuple[Filter, ...]:
    """Filters as typed, repeatable: the same field twice means either value (``color:red``
    and ``color:blue`` is ``color:red|blue``); ranges stay as they are."""
    values_by_field: dict[str, list[str]] = {}
    ranges: list[Filter] = []
    for text in texts or ():
        parsed = Filter.parse(text)
        if parsed.values:
            values_by_field.setdefault(parsed.field, []).extend(str(v) for v in parsed.values)
        else:
            ranges.append(parsed)
    merged = [
        parse_request(Filter, {"field": f, "values": tuple(dict.fromkeys(vs))}) for f, vs in values_by_field.items()
    ]
    return tuple(merged + ranges)


def tagged(field: str, clause: str) -> str:
    """``clause`` as an ``fq`` tagged ``filter`` and ``f_<field>`` (facets can exclude their own)."""
    return local_params("lucene", tag=f"{FILTER_TAG},f_{check_identifier(field)}") + clause


def filter_query(f: Filter, schema: Schema) -> str:
    """The ``fq`` of one filter on ``schema``'s collection (400 for an unknown field or a bad value)."""
    info = schema.filter_field(f.field)
    if f.values:
        return tagged(info.name, any_of(info.name, [_value(info, f.field, v) for v in f.values]))
    if not info.numeric:
        raise BadRequest(f"filter on {f.field!r}: a min/max range needs a numeric field, {f.field!r} is {info.kind}")
    lo, hi = f.min, f.max
    if info.kind == "long":
        lo = None if lo is None else math.ceil(lo)
        hi = None if hi is None else math.floor(hi)
    lo_s = "*" if lo is None else number(lo)
    hi_s = "*" if hi is None else number(hi)
    return tagged(info.name, f"{info.name}:[{lo_s} TO {hi_s}]")


def _value(info: FieldInfo, name: str, v: str | int | float | bool) -> str:
    """A filter value as the string Solr should match exactly, checked against the field's kind."""
    if info.kind == "string":
        return str(v).lower() if isinstance(v, bool) else str(v)
    if info.kind == "boolean":
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower()
        raise BadRequest(f"filter on {name!r}: {v!r} is not true or false")
    try:
        if isinstance(v, bool):
            raise ValueError
        x = float(v) if not isinstance(v, int) else v
        if isinstance(x, float) and not math.isfinite(x):
            raise ValueError
    except (TypeError, ValueError) as err:
        raise BadRequest(f"filter on {name!r}: {v!r} is not a number") from err
    if info.kind == "long":
        if isinstance(x, float) and not x.is_integer():
            raise BadRequest(f"filter on {name!r}: {v!r} is not a whole number")
        return str(int(x))
    return number(float(x))

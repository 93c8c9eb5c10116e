"""Everything a user typed reaches Solr through this module, in one of two ways.

1. **Values inside query syntax** go through :func:`quote`, the one escaping function:
   the value becomes a quoted Lucene phrase in which only ``\\`` and ``"`` are escaped.
   In the Lucene/Solr query grammar a quoted string is a single token whose characters are
   all literal except an escaped character, so nothing inside it (``}``, ``{!``, ``*:*``,
   ``OR``, newlines, ``$``) can be read as syntax. On a string field Solr turns a quoted
   value into one exact term; on a text field it is a phrase of the analysed words.

2. **Local params** (``{!knn ...}``, ``{!edismax ...}``) never contain user text. A local
   param that needs user text names another request parameter (``v=$text``), and the text
   travels as that parameter's value, which Solr reads as the parser's input and never
   re-parses for local params. :func:`local_params` enforces this: every value must be a
   number, one of our identifiers, or a ``$reference``; anything else is a programming error.

Field names are user input too: the query layer's ``Schema`` checks them against the
collection's own fields before they reach either form, and :func:`check_identifier`
guards the shape of every name we splice.
"""

from __future__ import annotations

import math
import re

# matched with fullmatch: ``$`` alone would also accept a trailing newline ("0\n")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOCAL_VALUE = re.compile(r"(\$[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9_.+\-]+(,[A-Za-z0-9_.+\-]+)*)")


def quote(value: str) -> str:
    """The one escaping function: ``value`` as a quoted Lucene phrase, every character literal.

    >>> quote('say "hi" {!x}')
    '"say \\\\"hi\\\\" {!x}"'
    """
    if not isinstance(value, str):
        raise TypeError(f"quote() takes a string, got {type(value).__name__}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def any_of(field: str, values: list[str] | tuple[str, ...]) -> str:
    """``field:("a" OR "b")``: matches documents whose ``field`` holds one of the values."""
    check_identifier(field)
    if not values:
        raise ValueError("any_of() needs at least one value")
    return f"{field}:(" + " OR ".join(quote(v) for v in values) + ")"


def text_terms(text: str) -> str:
    """User text for edismax: each whitespace-separated word becomes its own quoted phrase.

    Words still match on their own (edismax's ``mm`` and ``qf`` apply per word), but no
    operator, field name, wildcard or local param in the text has any effect.
    """
    return " ".join(quote(word) for word in text.split())


def check_identifier(name: str) -> str:
    """A field or tag name we splice into syntax must look like one; returns it."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name


def number(value: float | int) -> str:
    """A finite number in a form every Solr parser reads (no ``nan``, ``inf``, exponent-free ints)."""
    if isinstance(value, bool):
        raise TypeError("number() does not take booleans")
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def local_params(parser: str, /, **params: str | int | float | list[str] | None) -> str:
    """``{!parser k=v ...}`` from our own names, numbers and ``$references`` only.

    A list value repeats the key (``preFilter=$a preFilter=$b``). ``None`` values are left
    out. Any value that is not a plain token raises ``ValueError``: user text must be passed
    by reference (``v="$text"``), never inline.
    """
    check_identifier(parser)
    parts = [parser]
    for key, value in params.items():
        check_identifier(key)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v is None:
                continue
            token = number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
            if not _LOCAL_VALUE.fullmatch(token):
                raise ValueError(f"local param {key}={token!r} is not a plain token; pass it by $reference")
            parts.append(f"{key}={token}")
    return "{!" + " ".join(parts) + "}"


def vector_literal(vector: tuple[float, ...] | list[float]) -> str:
    """``[0.1,-0.2,...]``: the form Solr's vector parsers read; every entry must be finite."""
    return "[" + ",".join(_float(x) for x in vector) + "]"


def _float(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"vector entry is not a finite number: {x}")
    return repr(x)

"""Reading product catalogs in JSON Lines, one product a line.

A line is a JSON object::

    {"id": "p-1", "image": "images/p-1.jpg", "title": "Blue striped t-shirt by Acme",
     "group": "design-7", "price": 19.9, "in_stock": true,
     "color": "blue", "pattern": "stripes", "size": "M", "tags": ["summer", "cotton"]}

The rules, and what is rejected (each rejection is a :class:`CatalogError` naming the line; the
line is skipped and reading goes on):

``id`` (required)
    A non-empty string of at most 256 characters without control characters. An integer is
    accepted and becomes its decimal string (many catalogs number their products); a float,
    a boolean or anything else is rejected. An id seen on an earlier line is rejected
    (``duplicate_id``; the first line wins).
``image`` or ``images`` (one of them required)
    A path relative to the catalog file's folder, an absolute path, a ``file://`` URL or an
    ``http(s)://`` URL. Other URL schemes are rejected. The reference is kept as written; the
    image loader resolves it against the catalog's folder. ``images`` is a non-empty list of
    such references, the main image first (front, back, detail ...); with both keys,
    ``images`` must start with ``image``. An image listed twice is rejected.
``title``, ``group`` (optional)
    Strings (``group`` may also be an integer). ``group`` names the variant parent.
``price`` (optional)
    A finite number >= 0.
``in_stock`` (optional)
    A boolean.
every other key: an attribute
    Its value must be a string, an integer, a float, a boolean or a list of strings
    (multi-valued). A nested object, a list holding anything but strings, or a non-finite
    number is rejected. ``null`` means "absent" here and in the optional fields above; an empty
    list is dropped too. The name must be a safe Solr field name: lowercase ASCII letters,
    digits and underscores, starting with a letter, at most 64 characters, and not one of the
    fixed fields (``model``, ``pca_version``, ``vector``; the others are read as themselves).
    ``Color`` or ``color-name`` are rejected, not rewritten, so two keys can never silently
    merge into one field.

Blank lines are skipped silently. A line that is not valid UTF-8, not valid JSON, not an
object, or repeats a key, is rejected.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from lookalike.errors import LookalikeError
from lookalike.fields import FIXED_FIELDS, VECTOR_FIELD, solr_field_for

from indexer.report import ItemError

AttributeValue = Union[str, int, float, bool, list[str]]

MAX_ID_LENGTH = 256
MAX_ATTRIBUTE_NAME_LENGTH = 64
ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
PRODUCT_KEYS = ("id", "image", "images", "title", "group", "price", "in_stock")
MAX_IMAGES_LISTED = 100  # a catalog line's ``images``; how many are embedded is LOOKALIKE_MAX_IMAGES
RESERVED_NAMES = frozenset(FIXED_FIELDS) | {VECTOR_FIELD}
URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
IMAGE_SCHEMES = ("http", "https", "file")
SOLR_LONG_MAX = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CatalogError(LookalikeError):
    """A rejected catalog line. Yielded by :func:`read_catalog`, not raised."""

    def __init__(self, message: str, *, line: int, reason: str, id: str | None = None, source: str = "catalog"):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = reason
        self.id = id
        self.source = source
        self.detail = message

    def __reduce__(self):  # keyword-only arguments: tell pickle how to rebuild it
        return (_rebuild_catalog_error, (self.detail, self.line, self.reason, self.id, self.source))

    def to_item_error(self) -> ItemError:
        return ItemError(id=self.id, line=self.line, source=self.source, reason=self.reason, message=self.detail)

    def __repr__(self) -> str:
        return f"CatalogError(line={self.line}, reason={self.reason!r}, id={self.id!r}, {self.detail!r})"


def _rebuild_catalog_error(detail: str, line: int, reason: str, id: str | None, source: str) -> CatalogError:
    return CatalogError(detail, line=line, reason=reason, id=id, source=source)


@dataclass(frozen=True)
class Product:
    """One catalog product. ``image`` is the reference as written in the catalog; ``images`` are
    all its image references, main (``image``) first (a product with one image: ``(image,)``)."""

    id: str
    image: str
    title: str | None = None
    group: str | None = None
    price: float | None = None
    in_stock: bool | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict, hash=False)
    line: int | None = field(default=None, compare=False)
    images: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.images:
            object.__setattr__(self, "images", (self.image,))
        elif self.images[0] != self.image:
            raise ValueError(f"product {self.id}: images must start with the main image {self.image!r}")

    def to_solr_doc(self) -> dict[str, Any]:
        """The product's Solr fields except the vector and index metadata (model, pca_version)."""
        doc: dict[str, Any] = {"id": self.id, "image": self.image}
        for name in ("title", "group", "price", "in_stock"):
            value = getattr(self, name)
            if value is not None:
                doc[name] = value
        for name, value in self.attributes.items():
            solr_name = solr_field_for(name, value)
            assert solr_name is not None, f"attribute {name} passed validation with {value!r}"
            doc[solr_name] = value
        return doc

    def to_json(self) -> dict[str, Any]:
        """The product as a catalog line (the inverse of parsing it)."""
        out: dict[str, Any] = {"id": self.id, "image": self.image}
        if len(self.images) > 1:
            out["images"] = list(self.images)
        for name in ("title", "group", "price", "in_stock"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.attributes)
        return out


class _Reject(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def read_catalog(path: Path | str) -> Iterator[Product | CatalogError]:
    """Each line of a JSON Lines catalog, as a :class:`Product` or a :class:`CatalogError`.

    Never raises for a bad line; a missing or unreadable file raises :class:`LookalikeError`.
    """
    path = Path(path)
    try:
        f = path.open("rb")
    except OSError as err:
        raise LookalikeError(f"cannot read catalog {path}: {err.strerror or err}") from err
    with f:
        yield from parse_lines(f)


def parse_lines(lines: Iterable[bytes | str]) -> Iterator[Product | CatalogError]:
    """Parse catalog lines (bytes or str); line numbers start at 1."""
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        item_id: str | None = None
        try:
            text = _decode(raw, number)
            if not text.strip():
                continue
            obj = _load_json(text)
            item_id = _peek_id(obj)
            product = _product_from(obj, number)
            seen = first_line.get(product.id)
            if seen is not None:
                raise _Reject("duplicate_id", f"id {product.id!r} already appeared on line {seen}")
            first_line[product.id] = number
            yield product
        except _Reject as bad:
            yield CatalogError(bad.message, line=number, reason=bad.reason, id=item_id)


def parse_product(obj: Any, *, line: int | None = None) -> Product:
    """Validate one decoded catalog object; raises :class:`CatalogError` when it is rejected."""
    try:
        return _product_from(obj, line)
    except _Reject as bad:
        raise CatalogError(bad.message, line=line or 0, reason=bad.reason, id=_peek_id(obj)) from None


def write_catalog(products: Iterable[Product], path: Path | str) -> int:
    """Write products as JSON Lines; returns how many were written."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for product in products:
            f.write(json.dumps(product.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n


def is_url(ref: str) -> bool:
    """True for ``scheme://...`` references (a Windows drive letter ``C:`` is not a scheme)."""
    m = URL_SCHEME.match(ref)
    return bool(m) and len(m.group(1)) > 1 and ref[m.end() :].startswith("//")


# -- validation ---------------------------------------------------------------------------


def _decode(raw: bytes | str, number: int) -> str:
    if isinstance(raw, str):
        return raw.lstrip("\ufeff") if number == 1 else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Reject("bad_encoding", f"not valid UTF-8 (byte {err.start})") from None
    return text.lstrip("\ufeff") if number == 1 else text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Reject("bad_json", f"key {key!r} appears twice")
        out[key] = value
    return out


def _reject_constant(name: str) -> float:
    raise _Reject("bad_json", f"{name} is not valid JSON")


def _load_json(text: str) -> Any:
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise _Reject("bad_json", f"not valid JSON: {err.msg} at column {err.colno}") from None
    except RecursionError:
        raise _Reject("bad_json", "JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise _Reject("not_an_object", f"expected a JSON object, got {_type_name(obj)}")
    return obj


def _peek_id(obj: Any) -> str | None:
    """The line's id for the report, when it has a usable one."""
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, str) and value:
            return value[:MAX_ID_LENGTH]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _product_from(obj: dict[str, Any], line: int | None) -> Product:
    if not isinstance(obj, dict):
        raise _Reject("not_an_object", f"expected a JSON object, got {_type_name(obj)}")
    product_id = _id_value(obj.get("id"))
    image, images = _images_value(obj.get("image"), obj.get("images"))
    title = _optional_str(obj, "title")
    group = _group_value(obj.get("group"))
    price = _price_value(obj.get("price"))
    in_stock = obj.get("in_stock")
    if in_stock is not None and not isinstance(in_stock, bool):
        raise _Reject("bad_field", f"in_stock must be true or false, got {_type_name(in_stock)}")
    attributes: dict[str, AttributeValue] = {}
    for name, value in obj.items():
        if name in PRODUCT_KEYS:
            continue
        checked = _attribute(name, value)
        if checked is not None:
            attributes[name] = checked
    return Product(
        id=product_id, image=image, title=title, group=group, price=price,
        in_stock=in_stock, attributes=attributes, line=line, images=images,
    )


def _id_value(value: Any) -> str:
    if value is None:
        raise _Reject("missing_id", "no id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _Reject("bad_id", f"id must be a string (or an integer), got {_type_name(value)}")
    if not value.strip():
        raise _Reject("missing_id", "id is empty")
    if len(value) > MAX_ID_LENGTH:
        raise _Reject("bad_id", f"id is {len(value)} characters long; at most {MAX_ID_LENGTH} are allowed")
    if _CONTROL.search(value):
        raise _Reject("bad_id", "id contains a control character")
    return value


def _image_value(value: Any) -> str:
    if value is None:
        raise _Reject("missing_image", "no image")
    if not isinstance(value, str):
        raise _Reject("bad_image", f"image must be a string (path or URL), got {_type_name(value)}")
    if not value.strip():
        raise _Reject("missing_image", "image is empty")
    if _CONTROL.search(value):
        raise _Reject("bad_image", "image contains a control character")
    if is_url(value):
        scheme = value.split(":", 1)[0].lower()
        if scheme not in IMAGE_SCHEMES:
            raise _Reject("bad_image", f"image URL scheme {scheme!r} is not supported (use http, https, file or a path)")
    return value


def _images_value(image: Any, images: Any) -> tuple[str, tuple[str, ...]]:
    """``(main image, all images)`` from the line's ``image`` and/or ``images``."""
    if images is None:
        main = _image_value(image)
        return main, (main,)
    if not isinstance(images, list):
        raise _Reject("bad_image", f"images must be a list of paths or URLs, got {_type_name(images)}")
    if not images:
        if image is None:
            raise _Reject("missing_image", "images is an empty list and there is no image")
        raise _Reject("bad_image", "images is an empty list; leave it out or list the main image first")
    if len(images) > MAX_IMAGES_LISTED:
        raise _Reject("bad_image", f"images lists {len(images)} images; at most {MAX_IMAGES_LISTED} are allowed")
    refs = tuple(_image_value(ref) for ref in images)
    twice = sorted({r for r in refs if refs.count(r) > 1})
    if twice:
        raise _Reject("bad_image", f"images lists {twice[0]!r} twice")
    if image is not None and _image_value(image) != refs[0]:
        raise _Reject("bad_image", f"image {image!r} is not the first of images ({refs[0]!r}); "
                      "give images alone, main image first, or both with the same first image")
    return refs[0], refs


def _optional_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    raise _Reject("bad_field", f"{name} must be a string, got {_type_name(value)}")


def _group_value(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Reject("bad_field", f"group must be a string, got {_type_name(value)}")


def _price_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Reject("bad_field", f"price must be a number, got {_type_name(value)}")
    if not math.isfinite(value) or value < 0:
        raise _Reject("bad_field", f"price must be a finite number >= 0, got {value}")
    return float(value)


def _attribute(name: str, value: Any) -> AttributeValue | None:
    if not ATTRIBUTE_NAME.match(name) or len(name) > MAX_ATTRIBUTE_NAME_LENGTH:
        hint = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        suggestion = f" (e.g. {hint!r})" if hint and ATTRIBUTE_NAME.match(hint) else ""
        raise _Reject(
            "bad_attribute_name",
            f"attribute name {name!r} is not a safe field name: use lowercase letters, digits and "
            f"underscores, starting with a letter, at most {MAX_ATTRIBUTE_NAME_LENGTH} characters{suggestion}",
        )
    if name in RESERVED_NAMES:
        raise _Reject("bad_attribute_name", f"attribute name {name!r} is reserved for the index")
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) > SOLR_LONG_MAX:
            raise _Reject("bad_attribute_value", f"attribute {name!r}: integer {value} is out of range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Reject("bad_attribute_value", f"attribute {name!r}: {value} is not a finite number")
        return value
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            kinds = sorted({_type_name(v) for v in value if not isinstance(v, str)})
            raise _Reject(
                "bad_attribute_value",
                f"attribute {name!r}: a list may hold only strings, this one holds {', '.join(kinds)}",
            )
        return list(value) or None
    raise _Reject(
        "bad_attribute_value",
        f"attribute {name!r}: expected a string, number, boolean or list of strings, got {_type_name(value)}",
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

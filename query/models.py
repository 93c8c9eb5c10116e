"""What a caller can ask, and what it gets back.

:class:`SearchRequest` is the one request: what to be similar to (product ids to like,
ids to unlike, an inline vector from an uploaded image, and/or text), how to treat the
target products and their variants, structured filters, facets, paging, a minimum
similarity in cosine units and a mode. :class:`SimilarRequest` is the common case
"more like product X" and turns into a :class:`SearchRequest`.

Models are frozen pydantic v2 models. :func:`parse_request` turns validation errors into
:class:`BadRequest` with sentences a user can act on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from lookalike.errors import BadRequest

MAX_EXAMPLES = 20
MAX_K = 100
MAX_CANDIDATES = 1000
MAX_OFFSET = 1000
MAX_ID_CHARS = 512
# A product, proposal or batch id wherever it comes in (a path, a body): one limit, one message.
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
MAX_TEXT_CHARS = 500
MAX_VALUE_CHARS = 500
MAX_FILTER_VALUES = 50

Scalar = str | int | float | bool


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Filter(_Frozen):
    """One structured filter: ``field`` equals one of ``values``, or lies in ``[min, max]``."""

    field: str = Field(min_length=1, max_length=100, description="Attribute name, e.g. `color` or `price`.")
    values: tuple[Scalar, ...] = Field(default=(), max_length=MAX_FILTER_VALUES, description="Match any of these.")
    min: float | None = Field(default=None, description="Inclusive lower bound (numeric fields).")
    max: float | None = Field(default=None, description="Inclusive upper bound (numeric fields).")

    @model_validator(mode="after")
    def _one_kind(self) -> "Filter":
        has_range = self.min is not None or self.max is not None
        if bool(self.values) == has_range:
            raise ValueError(f"filter on {self.field!r} needs either values or a min/max range, not both or neither")
        for bound in (self.min, self.max):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"filter on {self.field!r}: range bounds must be finite numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"filter on {self.field!r}: min {self.min} is greater than max {self.max}")
        for v in self.values:
            if isinstance(v, str) and not v:
                raise ValueError(f"filter on {self.field!r}: values must not be empty strings")
            if isinstance(v, str) and len(v) > MAX_VALUE_CHARS:
                raise ValueError(f"filter on {self.field!r}: a value is longer than {MAX_VALUE_CHARS} characters")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"filter on {self.field!r}: values must be finite numbers")
        return self

    @classmethod
    def parse(cls, text: str) -> "Filter":
        """The one filter grammar (CLI, API and pages): ``color:red``, ``color:red|blue``,
        ``price:10..50``, ``price:..20``; ``=`` is accepted instead of ``:`` (``color=red``).

        The field name ends at the first ``:`` or ``=``; the value may contain either.
        """
        cut = min((i for i in (text.find(":"), text.find("=")) if i >= 0), default=-1)
        name, rest = (text[:cut].strip(), text[cut + 1:]) if cut >= 0 else ("", "")
        if not name or not rest:
            raise BadRequest(
                f"filter {text!r} should look like field=value or field:value "
                "(field:a|b for either value, field:min..max for a range)"
            )
        if ".." in rest:
            lo, _, hi = rest.partition("..")
            try:
                return cls(field=name, min=float(lo) if lo.strip() else None, max=float(hi) if hi.strip() else None)
            except ValueError as err:
                raise BadRequest(f"filter {text!r}: range bounds must be numbers") from err
        return parse_request(cls, {"field": name, "values": tuple(rest.split("|"))})


Mode = Literal["approx", "exact", "auto"]
Variants = Literal["exclude", "collapse", "include"]
# How a page is ordered: best first (similarity, text match; the catalog: by id), or by price.
Sort = Literal["relevance", "price_asc", "price_desc"]
MAX_DIRECTIONS = 5


class QueryOptions(_Frozen):
    """Everything but the target; shared by :class:`SimilarRequest` and :class:`SearchRequest`."""

    exclude_self: bool = Field(default=True, description="Leave the example products out of the answer.")
    variants: Variants = Field(
        default="include",
        description="Products of the same `group` as an example: `exclude` them, `collapse` every group "
        "to its best product, or `include` them.",
    )
    filters: tuple[Filter, ...] = Field(default=(), max_length=30)
    more: tuple[Filter, ...] = Field(
        default=(), max_length=MAX_DIRECTIONS,
        description="Move the target toward what products with these values look like (`print:hawaiian`): "
        "the direction is their category-centred mean (see query/directions.py).",
    )
    less: tuple[Filter, ...] = Field(
        default=(), max_length=MAX_DIRECTIONS, description="Move the target away from these values' look."
    )
    direction_weight: float = Field(
        default=1.5, ge=0.0, le=5.0, description="How far `more` and `less` move the target (a unit target plus "
        "this times each unit direction)."
    )
    in_stock: bool | None = Field(default=None, description="Only products in stock (true) or out of stock (false).")
    facets: tuple[str, ...] = Field(default=(), max_length=20, description="Fields to count over the similar set.")
    facet_limit: int = Field(default=10, ge=1, le=100, description="Values per facet.")
    k: int = Field(default=10, ge=1, le=MAX_K, description="Products per page.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Products to skip (paging).")
    candidates: int = Field(
        default=100,
        ge=1,
        le=MAX_CANDIDATES,
        description="Size of the similar set when there is no min_similarity: the top products by "
        "similarity that pages and facets are taken from.",
    )
    min_similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Cosine similarity a product needs, -1..1."
    )
    mode: Mode = Field(
        default="auto",
        description="`approx`: HNSW kNN; `exact`: the lookalike plugin; `auto`: exact when the filters "
        "leave few products, else approx.",
    )
    fields: tuple[str, ...] | None = Field(default=None, max_length=50, description="Fields to return.")
    sort: Sort = Field(
        default="relevance",
        description="`relevance`: most similar (or best text match) first; `price_asc` / `price_desc`: the same "
        "set (the top `candidates`, the threshold set or the text matches) ordered by price.",
    )

    @field_validator("more", "less")
    @classmethod
    def _directions(cls, directions: tuple[Filter, ...]) -> tuple[Filter, ...]:
        for d in directions:
            if not d.values:
                raise ValueError(f"more and less take field:value, not a range ({d.field})")
        return directions

    @field_validator("min_similarity")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("min_similarity must be a number between -1 and 1")
        return v

    @model_validator(mode="after")
    def _paging(self) -> "QueryOptions":
        if self.min_similarity is None and self.offset + self.k > self.candidates:
            raise ValueError(
                f"offset + k ({self.offset + self.k}) is beyond the similar set of {self.candidates} "
                "candidates; raise candidates or use min_similarity"
            )
        return self


class SearchRequest(QueryOptions):
    """Similar to some products, an image vector and/or text, with filters and facets."""

    like: tuple[str, ...] = Field(default=(), max_length=MAX_EXAMPLES, description="Ids of positive examples.")
    unlike: tuple[str, ...] = Field(default=(), max_length=MAX_EXAMPLES, description="Ids of negative examples.")
    vector: tuple[float, ...] | None = Field(
        default=None, description="A query vector in the index's space (from an uploaded image)."
    )
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS, description="Free text (edismax).")
    combine: Literal["mean", "max"] = Field(default="mean", description="How several examples combine.")
    unlike_weight: float = Field(default=1.0, ge=0.0, le=10.0, description="Weight of the negative examples.")
    text_weight: float = Field(
        default=0.5, ge=0.0, le=10.0, description="Most the text match can add to an image score (see query.build)."
    )

    @field_validator("like", "unlike")
    @classmethod
    def _ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for i in ids:
            if not i or len(i) > MAX_ID_CHARS:
                raise ValueError(f"product ids must have 1 to {MAX_ID_CHARS} characters")
        if len(set(ids)) != len(ids):
            raise ValueError("the same product id is given twice")
        return ids

    @field_validator("vector")
    @classmethod
    def _vector(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("vector must not be empty")
        if not all(math.isfinite(x) for x in v):
            raise ValueError("vector entries must be finite numbers")
        if math.fsum(x * x for x in v) == 0.0:
            raise ValueError("vector must not be all zeros")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, t: str | None) -> str | None:
        if t is not None and not t.strip():
            return None
        return t

    @model_validator(mode="after")
    def _target(self) -> "SearchRequest":
        if not self.like and self.vector is None and self.text is None:
            raise ValueError("say what to search for: like (product ids), an image vector, or text")
        if set(self.like) & set(self.unlike):
            raise ValueError("a product cannot be both a like and an unlike example")
        if self.unlike and not self.like and self.vector is None:
            raise ValueError("unlike examples need a positive target: like ids or an image")
        if self.min_similarity is not None and not self.has_image_target:
            raise ValueError("min_similarity needs an image target (like ids or an image), not text alone")
        if (self.more or self.less) and not self.has_image_target:
            raise ValueError("more and less move an image target: give like ids or an image")
        if (self.more or self.less) and self.combine == "max" and len(self.like) + (self.vector is not None) > 1:
            raise ValueError("more and less move one combined target: use combine=mean with several examples")
        return self

    @property
    def has_image_target(self) -> bool:
        return bool(self.like) or self.vector is not None

    @property
    def example_ids(self) -> tuple[str, ...]:
        return self.like + self.unlike


class SimilarRequest(QueryOptions):
    """More like product ``id``."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)

    def to_search(self) -> SearchRequest:
        return SearchRequest(like=(self.id,), **self.model_dump(exclude={"id"}))


M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], data: Any) -> M:
    """``model.model_validate(data)`` with errors as one :class:`BadRequest` sentence."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise BadRequest(describe_errors(err.errors())) from err


_LOCATIONS = ("query", "path", "header")


def describe_errors(errors: Sequence[Mapping[str, Any]], *, http: bool = False) -> str:
    """Validation errors (pydantic's, or FastAPI's with ``http=True``: their location starts with
    ``query``, ``path``, ``header`` or ``body``) as one sentence: where, what is wrong, so what to fix."""
    parts = []
    for e in list(errors)[:5]:
        loc = [str(p) for p in e.get("loc", ()) if p != "__root__"]
        if http and loc and loc[0] in _LOCATIONS:
            where = f"{loc[0]} parameter {'.'.join(loc[1:])}"
        elif http and loc and loc[0] == "body":
            where = "body" + ("." + ".".join(loc[1:]) if len(loc) > 1 else "")
        else:
            where = ".".join(loc)
        msg = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        kind = e.get("type")
        if kind == "extra_forbidden":
            msg = "is not a known option"
        elif http and kind == "missing":
            msg = "is required"
        elif http and kind == "json_invalid":
            msg = "is not valid JSON"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "the request is not valid"


# -- answers -------------------------------------------------------------------------------


class Product(_Frozen):
    """One product as the storefront shows it; ``attributes`` are keyed without suffix."""

    id: str
    title: str | None = None
    group: str | None = None
    price: float | None = None
    in_stock: bool | None = None
    image: str | None = None
    images: tuple[str, ...] = Field(default=(), description="All the product's images, the main one (`image`) first.")
    matched_image: int | None = Field(
        default=None, description="Which of `images` (0-based) is closest to the query, when products have several "
        "(`/images/{id}?n=` serves it)."
    )
    attributes: dict[str, Any] = Field(default_factory=dict)
    score: float | None = Field(default=None, description="Solr's score (image, plus text when re-ranked).")
    similarity: float | None = Field(default=None, description="Cosine similarity to the target, -1..1.")


class FacetBucket(_Frozen):
    value: Any
    count: int


class Facet(_Frozen):
    name: str = Field(description="The field as the request named it.")
    field: str = Field(description="The Solr field.")
    buckets: tuple[FacetBucket, ...]


class BrowseRequest(_Frozen):
    """A page of the catalog (no similarity target): filters, facets, one per design, an order."""

    page: int = Field(default=1, ge=1, le=100_000, description="The page, counted from 1.")
    per_page: int = Field(default=24, ge=1, le=MAX_K, description="Products per page.")
    filters: tuple[Filter, ...] = Field(default=(), max_length=30)
    in_stock: bool | None = Field(default=None, description="Only products in stock (true) or out of stock (false).")
    facets: tuple[str, ...] = Field(default=(), max_length=20, description="Fields to count over the filtered catalog.")
    facet_limit: int = Field(default=10, ge=1, le=100, description="Values per facet.")
    variants: Literal["include", "collapse"] = Field(
        default="include", description="`collapse`: one product per design (`group`); `include`: every variant."
    )
    sort: Sort = Field(default="relevance", description="`relevance`: by id; `price_asc` / `price_desc`: by price.")


class CatalogPage(_Frozen):
    """A page of the catalog, by id or by price, with the facets asked for."""

    products: tuple[Product, ...]
    total: int = Field(description="Products that pass the filters (designs, with variants=collapse).")
    page: int = Field(description="This page, counted from 1.")
    per_page: int
    facets: tuple[Facet, ...] = ()
    qtime_ms: int = Field(default=0, description="Solr's QTime.")


class SearchResponse(_Frozen):
    products: tuple[Product, ...]
    total: int = Field(description="Size of the set the page and facets come from.")
    similar_set: Literal["threshold", "top", "text"] = Field(
        description="`threshold`: products at or above min_similarity; `top`: the best `candidates`; "
        "`text`: products matching the text."
    )
    facets: tuple[Facet, ...] = ()
    mode: Literal["approx", "exact"]
    mode_reason: str = ""
    solr_requests: int = 0
    qtime_ms: int = Field(default=0, description="Sum of Solr's QTime over the requests made.")
    took_ms: float = Field(default=0.0, description="Wall time of the whole search in this process.")

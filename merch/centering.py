"""Category-centred similarity: compare prints, not garment shapes.

Generic image features mix *what the product is* (a bag, a hat, a dress: its shape) with
*how it looks* (print, colour). Two Hawaiian products of different categories are far apart,
a Hawaiian bag and a striped bag close. Centring removes, from every product's unit vector,
the **average look of its category** (the mean unit vector of all products of that
category), and compares what is left::

    centred target   u = mean_i (e_i - c(e_i)) - w * mean_j (n_j - c(n_j))   (examples e, negatives n)
    similarity(v)    = (v . u - c(v) . u) / (|u| * s(v))

where ``v`` is a product's unit vector, ``c(v)`` its category's mean and ``s(v)`` the
typical length of ``v - c(v)`` in that category (root mean square, ``sqrt(1 - |c|^2)``), so
the similarity is a cosine between "what makes this product different from an average
product of its category" and the same for the examples - the print they share.

Measured on the 2,000-product demo catalog with the real model: two Hawaiian examples find
the other Hawaiian products over the whole catalog with average precision 0.95 (0.55 without
centring); see :mod:`merch.evaluate` and the module doc of :mod:`merch.propagation`.

**Exact in Solr, one request.** Within one category ``c(v)`` and ``s(v)`` are constants, so
the similarity is an affine function of the plugin's cosine between ``v`` and ``u``. The
request is a disjunction with one clause per category: the ``{!lookalike}`` query on the
inline target ``u`` with that category's threshold translated to a plugin cosine, its score
scaled by ``1/s`` (``{!boost}``), plus a constant-score term for the category carrying the
offset. Solr's score is then ``(1 + similarity) / 2 + shift`` for every product (one ``shift``
per request keeps every constant >= 0, as Lucene scores must be), so it sorts,
thresholds and counts (``numFound``) exactly; no vector leaves Solr except those of the
candidates shown. Category means are computed once per physical collection (one pass over
its vectors) and cached in the merchandising store.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.errors import BadRequest
from lookalike.fields import VECTOR_FIELD
from lookalike.settings import Settings
from merch.store import MerchStore, now
from merch.vectors import normalize
from lookalike.solr_syntax import any_of, check_identifier, local_params, number, quote, vector_literal
from query.schema import Schema

log = logging.getLogger(__name__)

KIND = "centering"
MIN_SPREAD = 1e-3
# A category with fewer products has no reliable average look: its products are centred on the
# whole catalog's average instead (as are products of a value the centring has not seen).
MIN_GROUP = 5


@dataclass
class Group:
    value: str | None  # the category value; None: products without one
    count: int
    mean: list[float]  # mean unit vector of the group's products

    @property
    def spread(self) -> float:
        """Root mean square of |v - mean| over the group's unit vectors: sqrt(1 - |mean|^2)."""
        m = np.asarray(self.mean, dtype=np.float64)
        return max(MIN_SPREAD, float(np.sqrt(max(0.0, 1.0 - float(m @ m)))))


@dataclass
class Centering:
    collection: str
    field: str  # the category field (e.g. category_s)
    products: int  # every product of the collection when built (the staleness check), with a vector or not
    created: str
    groups: list[Group]

    def __post_init__(self) -> None:
        self.groups = [g if isinstance(g, Group) else Group(**g) for g in self.groups]
        self._by = {g.value: g for g in self.groups}
        total = sum(g.count for g in self.groups) or 1
        mean = sum(np.asarray(g.mean, np.float64) * g.count for g in self.groups) / total
        self._catalog = Group(value=None, count=total, mean=[float(x) for x in mean])

    @property
    def key(self) -> str:
        return f"{self.collection}|{self.field}"

    def group(self, value: Any) -> Group:
        """The group whose average a product of this category value is centred on (a list: its first
        value); a small or unknown category: the whole catalog."""
        g = self._by.get(_key(value))
        return g if g is not None and g.count >= MIN_GROUP else self._catalog

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "field": self.field, "products": self.products,
                "created": self.created, "groups": [asdict(g) for g in self.groups]}


def _key(value: Any) -> str | None:
    """A product's category value as a group key: a list's first value; None when it has none."""
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def group_means(vectors: np.ndarray, values: list[Any]) -> list[Group]:
    """Per category value: count and mean of the rows' unit vectors (pure)."""
    v = normalize(np.asarray(vectors, dtype=np.float32)).astype(np.float64)
    keys = [_key(x) for x in values]
    out = []
    for key in sorted(set(keys), key=lambda k: (k is None, k or "")):
        rows = v[[i for i, k in enumerate(keys) if k == key]]
        out.append(Group(value=key, count=len(rows), mean=[round(float(x), 7) for x in rows.mean(axis=0)]))
    return out


DEFAULT_BY = "category"


def resolve_field(client: SolrClient, collection: str, by: str | None, schema: Schema | None = None) -> str | None:
    """The Solr field of attribute ``by`` (``category`` -> ``category_s``); None for None or ``none``.

    The default (``category``) is dropped quietly when the catalog has no such attribute.
    ``schema``: the collection's, when the caller has read it already.
    """
    from merch.filters import load_schema

    if not by or by == "none":
        return None
    try:
        name = check_identifier((schema or load_schema(client, collection)).facet_field(by).name)
        if name.endswith("_ss"):
            raise BadRequest(f"cannot centre on {by!r}: it holds several values per product; name a single-valued attribute")
        return name
    except BadRequest:
        if by == DEFAULT_BY:
            log.info("%s has no %s attribute: comparing raw vectors", collection, by)
            return None
        raise


def build(settings: Settings, client: SolrClient, physical: str, field: str, *,
          vectors: np.ndarray | None = None, values: list[Any] | None = None, products: int | None = None) -> Centering:
    """One pass over the collection's vectors (or the ones given, e.g. by clustering, which has just
    read them all); the result is stored in the merchandising store."""
    from merch.catalog import count, read_vectors

    field = check_identifier(field)
    if vectors is None or values is None or products is None:
        products = count(client, physical)
        _, vectors, docs = read_vectors(client, physical, extra_fl=[field])
        values = [d.get(field) for d in docs]
    if len(values) == 0:
        raise BadRequest(f"{physical} has no product with a vector to centre on")
    c = Centering(collection=physical, field=field, products=products, created=now(),
                  groups=group_means(vectors, values))
    MerchStore(client, settings).put(KIND, c.key, c.as_dict(), collection_s=physical, created_s=c.created)
    log.info("centring of %s by %s: %d groups over %d products", physical, field, len(c.groups), c.products)
    return c


def load(settings: Settings, client: SolrClient, physical: str, field: str) -> Centering:
    """The cached centring of ``physical`` by ``field``; built when missing or when the product count changed."""
    from merch.catalog import count

    record = MerchStore(client, settings).get(KIND, f"{physical}|{check_identifier(field)}")
    if record is not None:
        c = Centering(**record)
        if count(client, physical) == c.products:
            return c
    return build(settings, client, physical, field)


def centred_target(c: Centering, positives: np.ndarray, positive_values: list[Any],
                   negatives: np.ndarray | None = None, negative_values: list[Any] = (),
                   unlike_weight: float = 1.0) -> np.ndarray:
    """``u``: the examples' mean centred direction minus ``unlike_weight`` times the negatives' (pure)."""
    def direction(vecs: np.ndarray, values: list[Any]) -> np.ndarray:
        mean = _centred(c, vecs, values).astype(np.float64).mean(axis=0)
        return normalize(mean.astype(np.float32)).astype(np.float64)

    u = direction(positives, positive_values)
    if negatives is not None and len(negatives):
        u = u - unlike_weight * direction(negatives, negative_values)
    if not np.any(u):
        raise BadRequest("the negative examples cancel the positive ones: no direction is left to compare with")
    return u


def similarity(c: Centering, u: np.ndarray, vectors: np.ndarray, values: list[Any]) -> np.ndarray:
    """The centred similarity of each row, exactly as the Solr request scores it (pure)."""
    v = normalize(np.atleast_2d(np.asarray(vectors, dtype=np.float32))).astype(np.float64)
    un = np.linalg.norm(u)
    groups = [c.group(x) for x in values]
    means = np.asarray([g.mean for g in groups], dtype=np.float64)
    spreads = np.asarray([g.spread for g in groups])
    return (v @ u - (means * u).sum(axis=1)) / (un * spreads)


def centred_cosines(c: Centering, vectors: np.ndarray, values: list[Any], examples: np.ndarray,
                    example_values: list[Any]) -> np.ndarray:
    """Rows x examples: the cosine between each product and each example, both with their category's mean removed."""
    return _centred(c, vectors, values) @ _centred(c, examples, example_values).T


def _centred(c: Centering, vectors: np.ndarray, values: list[Any]) -> np.ndarray:
    """Each row as a unit vector minus its category's mean, scaled back to unit length (float32)."""
    v = normalize(np.atleast_2d(np.asarray(vectors, dtype=np.float32))).astype(np.float64)
    means = np.asarray([c.group(x).mean for x in values], dtype=np.float64)
    return normalize((v - means).astype(np.float32))


def query_params(c: Centering, u: np.ndarray, *, threshold: float | None) -> dict[str, Any]:
    """``q`` and the parameters it refers to: one clause per category (pure; see the module doc).

    ``threshold`` is on the centred similarity; None or -1: every product with a vector.
    """
    un = float(np.linalg.norm(u))
    params: dict[str, Any] = {"ctarget": vector_literal((u / un).astype(np.float32).tolist())}
    clauses = []
    field = check_identifier(c.field)
    known = [g.value for g in c.groups if g.value is not None]
    # one clause per category value, and one for values the centring has not seen
    selectors = [(g.value, f"{field}:{quote(g.value)}" if g.value is not None else f"(*:* -{field}:[* TO *])")
                 for g in c.groups]
    selectors.append(("\0unseen", f"(+{field}:[* TO *] -{any_of(field, known)})" if known else f"{field}:[* TO *]"))
    # score = (1 + cos)/(2 s) + shift + 1/2 - (1 + offset)/(2 s) = (1 + similarity)/2 + shift, where
    # offset is the plugin cosine of a product equal to the category mean
    shapes = [(value, in_group, c.group(value).spread, float(np.asarray(c.group(value).mean) @ u) / un)
              for value, in_group in selectors]
    shift = max(0.0, max((1.0 + offset) / (2.0 * s) - 0.5 for _, _, s, offset in shapes))
    params["cshift"] = number(shift)  # not a Solr parameter: how to read the score back (score_to_similarity)
    for i, (value, in_group, s, offset) in enumerate(shapes):
        lp: dict[str, Any] = {"f": VECTOR_FIELD, "vector": "$ctarget"}
        if threshold is not None and threshold > -1.0:  # -1: the lowest a merchandiser can set, no threshold
            cos_min = threshold * s + offset  # centred similarity >= threshold  <=>  plugin cosine >= cos_min
            if cos_min > 1.0:
                continue  # no product of this category can reach the threshold
            if cos_min > -1.0:
                lp["minSimilarity"] = number(cos_min)
        const = max(0.0, shift + 0.5 - (1.0 + offset) / (2.0 * s))
        params[f"cq{i}"] = local_params("lookalike", **lp)
        params[f"cf{i}"] = f"{in_group}^={number(const)}"
        clauses.append(f"(+{local_params('boost', b=1.0 / s, v=f'$cq{i}')} +{local_params('lucene', v=f'$cf{i}')})")
    if not clauses:
        clauses.append("(-*:*)")
    params["q"] = " ".join(clauses)
    return params


def score_to_similarity(score: float, shift: float | str) -> float:
    """Solr's score of a centred request (:func:`query_params`, its ``cshift``) as the centred similarity."""
    return 2.0 * (float(score) - float(shift)) - 1.0

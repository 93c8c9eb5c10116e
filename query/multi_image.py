"""Several images per product on Solr 9.10: products compared by their best-matching images.

Solr 9.10 has no multi-valued vector field, so a product keeps **one document** (totals, facets,
paging, ``collapse`` and filters count products with nothing more to do) and its images go into
a fixed set of vector fields: image 0 (the main one) in ``vector``, image n in ``vector_<n>``
(lookalike/fields.py; a collection gets as many as its catalog needs, at most
``LOOKALIKE_MAX_IMAGES``). A product with fewer images simply has no vector in the later fields.

The similarity of a product to a query is the **maximum over pairs** of (query vector, product
image): a query has one vector (a photo, or several examples combined) or several (the images of
the product asked about, for "more like this"). In Solr that is one clause per (field, query
vector) under ``{!maxscore tie=0}`` (Solr's MaxScoreQParser: a DisjunctionMaxQuery, whose score
is its best clause's, so a product is scored by its best pair and matched when any pair
matches):

* exact: ``{!lookalike f=vector_n vector=$vec_i [minSimilarity=...]}`` per clause. Each clause
  is the plugin's own two-phase query, so the user's ``fq`` filters still intersect first and
  only the survivors' vectors are read, once per field.
* approx: ``{!knn f=vector_n topK=K preFilter=$pf0 ... v=$vec_i}`` (or ``{!vectorSimilarity}``
  with a threshold). A kNN query inside another query cannot use the global ``fq``'s as its
  pre-filter (Solr refuses ``includeTags`` in a sub-query), so every user filter is passed again
  as an explicit ``preFilter`` (:func:`prefilter_params`), and each graph search returns the K
  nearest images *that pass the filters*; the union is ranked by the best pair. A product found
  by one clause is scored by that clause only, which is the approximation.

Which image matched is computed afterwards for the page's products only
(:func:`best_pairs`): their vectors are read by id and compared with the query vectors, at
most ``targets x images`` dot products each.

**On Solr 9.11+ / 10.** Their multi-valued vectors (a ``DenseVectorField`` with
``multiValued="true"``, or nested child documents with one vector each and a parent
``{!parent}`` join of ``{!knn}``, with the max over children as the parent's score) replace the
fixed fields: the catalog's ``images`` become the values of one field (or one child each), the
max over a product's vectors is what the engine computes per document, and the clauses here
collapse to one per query vector. The catalog format, the one document per product and the
answers (``images``, ``matched_image``) stay as they are; only this module and the schema change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lookalike.solr_syntax import check_identifier, local_params, number, vector_literal

Params = dict[str, object]


def target_params(targets: Sequence[Sequence[float]]) -> Params:
    """``vec_0``, ``vec_1``, ...: the query vectors as request parameters."""
    return {f"vec_{i}": vector_literal(t) for i, t in enumerate(targets)}


def prefilter_params(fqs: Sequence[str]) -> Params:
    """``pf_0``, ``pf_1``, ...: the user's filters again, for the kNN clauses' ``preFilter``."""
    return {f"pf_{i}": fq for i, fq in enumerate(fqs)}


def exact_query(fields: Sequence[str], n_targets: int, *, min_similarity: float | None = None) -> str:
    """The max over (field, target) pairs of the plugin's exact similarity."""
    clauses = [
        local_params("lookalike", f=check_identifier(f), vector=f"$vec_{i}",
                     minSimilarity=None if min_similarity is None else number(min_similarity))
        for f in fields for i in range(n_targets)
    ]
    return _maxscore(clauses)


def approx_query(fields: Sequence[str], n_targets: int, n_prefilters: int, *, top_k: int | None = None,
                 min_return: float | None = None, min_traverse: float | None = None) -> str:
    """The max over (field, target) pairs of HNSW clauses, each pre-filtered by ``pf_0..``.

    ``top_k``: ``{!knn}``; ``min_return``/``min_traverse`` (dot-product scores): ``{!vectorSimilarity}``.
    """
    prefilters = [f"$pf_{j}" for j in range(n_prefilters)] or None
    clauses = []
    for f in fields:
        for i in range(n_targets):
            if top_k is not None:
                clauses.append(local_params("knn", f=check_identifier(f), topK=top_k, preFilter=prefilters,
                                            v=f"$vec_{i}"))
            else:
                clauses.append(local_params("vectorSimilarity", f=check_identifier(f), minReturn=number(min_return),
                                            minTraverse=number(min_traverse), preFilter=prefilters, v=f"$vec_{i}"))
    return _maxscore(clauses)


def _maxscore(clauses: list[str]) -> str:
    if not clauses:
        raise ValueError("a multi-image query needs at least one field and one target")
    return local_params("maxscore", tie=0) + " ".join(clauses)


def best_pairs(targets: np.ndarray, images: Sequence[np.ndarray]) -> list[tuple[int, float]]:
    """For each product (its image vectors, one row each), ``(image index, cosine)`` of its image
    closest to any of the ``targets`` (rows). Vectors are unit length (the index's), so the dot
    product is the cosine."""
    t = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    out = []
    for rows in images:
        sims = np.atleast_2d(np.asarray(rows, dtype=np.float64)) @ t.T  # images x targets
        best = int(np.argmax(sims.max(axis=1)))
        out.append((best, float(sims[best].max())))
    return out

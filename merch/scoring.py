"""How a proposal scores products: the Solr request for its candidates, and the reasons shown.

Raw vectors use the plugin's ``like``/``unlike`` query; category-centred scoring
(:mod:`merch.centering`) one inline target and a clause per category. Either way each
candidate's reason is recomputed here from its stored vector with the formula Solr ranked by.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookalike.connection import SolrClient
from lookalike.fields import VECTOR_FIELD, attribute_name
from lookalike.settings import Settings
from lookalike.solr_syntax import any_of, check_identifier, local_params, number, quote
from merch import centering
from merch.catalog import example_vectors
from merch.records import Proposal, check_threshold
from merch.vectors import ExampleScorer


def candidate_params(p: Proposal, *, threshold: float, rows: int, fqs: list[str], fl: str,
                     only_lacking: bool = False, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Solr request for a proposal's candidates (pure).

    ``query``: ``q`` and the parameters it refers to, when the proposal is centred
    (:meth:`Scoring.query`); otherwise the plugin query on the examples' ids.
    """
    if query is not None:
        params: dict[str, Any] = dict(query)
    else:
        lp: dict[str, Any] = {"f": VECTOR_FIELD, "like": "$like", "combine": p.combine,
                              "minSimilarity": number(check_threshold(threshold))}
        params = {"like": ",".join(p.positives)}
        if p.negatives:
            lp.update(unlike="$unlike", unlikeWeight=number(p.unlike_weight))
            params["unlike"] = ",".join(p.negatives)
        params["q"] = local_params("lookalike", **lp)
    f = check_identifier(p.field)
    excluded = ["-" + any_of("id", p.positives + p.negatives), f"-{f}:{quote(p.value)}"]
    if only_lacking:
        excluded.append(f"-{f}:[* TO *]")
    params.update({
        "fq": [*fqs, "*:* " + " ".join(excluded)],
        "fl": fl, "rows": rows, "sort": "score desc,id asc",
    })
    return params


class Scoring:
    """How a proposal scores products, for the Solr request and for the reasons shown.

    Raw (``center_by`` None): the plugin's ``like``/``unlike`` query, explained by
    :class:`merch.vectors.ExampleScorer`. Centred: one inline target and a clause per category
    (:mod:`merch.centering`); the reasons are the cosines to each example with both sides'
    category average removed.
    """

    def __init__(self, settings: Settings, client: SolrClient, p: Proposal):
        self.p = p
        vecs, docs = example_vectors(client, p.collection, p.positives + p.negatives,
                                     extra_fl=[p.center_by] if p.center_by else [])
        n = len(p.positives)
        self.pos, self.pos_docs = vecs[:n], docs[:n]
        self.neg, self.neg_docs = (vecs[n:], docs[n:]) if p.negatives else (None, [])
        self.centering = None
        if p.center_by:
            self.centering = centering.load(settings, client, p.collection, p.center_by)
            self.target = centering.centred_target(
                self.centering, self.pos, [d.get(p.center_by) for d in self.pos_docs],
                self.neg, [d.get(p.center_by) for d in self.neg_docs], p.unlike_weight)
        else:
            self.scorer = ExampleScorer(self.pos, self.neg, combine=p.combine, unlike_weight=p.unlike_weight)

    @property
    def fields(self) -> list[str]:
        """Fields the explanation needs from each product."""
        return [VECTOR_FIELD] + ([self.p.center_by] if self.p.center_by else [])

    def query(self, threshold: float) -> dict[str, Any] | None:
        if self.centering is None:
            return None
        return centering.query_params(self.centering, self.target, threshold=check_threshold(threshold))

    def explain(self, docs: list[dict[str, Any]]) -> list[tuple[float, dict[str, float], dict[str, float], str | None]]:
        """Per product: similarity, cosine to each positive and negative example, and whose average was removed."""
        if not docs:
            return []
        p = self.p
        vecs = np.asarray([d[VECTOR_FIELD] for d in docs], dtype=np.float32)
        out = []
        if self.centering is None:
            for s in self.scorer.explain(vecs):
                out.append((s.similarity, dict(zip(p.positives, s.positive_cosines)),
                            dict(zip(p.negatives, s.negative_cosines)), None))
            return out
        c, f = self.centering, p.center_by
        values = [d.get(f) for d in docs]
        sims = centering.similarity(c, self.target, vecs, values)
        pos = centering.centred_cosines(c, vecs, values, self.pos, [d.get(f) for d in self.pos_docs])
        neg = (centering.centred_cosines(c, vecs, values, self.neg, [d.get(f) for d in self.neg_docs])
               if self.neg is not None else np.zeros((len(docs), 0)))
        user_name = attribute_name(f)
        for d, s, pc, nc, v in zip(docs, sims, pos, neg, values):
            g = c.group(v).value
            out.append((float(s), dict(zip(p.positives, map(float, pc))), dict(zip(p.negatives, map(float, nc))),
                        f"{user_name}={g}" if g is not None else "the whole catalog"))
        return out

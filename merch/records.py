"""The records of attribute propagation: a proposal, its candidates, an applied batch.

Stored as JSON in the metadata collection (:mod:`merch.store`); the workflow is
:mod:`merch.propagation` (proposals), :mod:`merch.scoring` and :mod:`merch.batches`.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from lookalike.errors import BadRequest
from query.models import Filter

DEFAULT_THRESHOLD = 0.2  # centred similarity; measured on the demo catalog: see merch.propagation

# Confidence: what a merchandiser reads and sets (0-1). The similarity a proposal ranks by is a
# cosine for raw vectors, but category-centred similarity is scaled by each category's spread and
# can pass 1 (1.122 seen on the demo). Confidence is the similarity through a logistic curve,
# 0.5 at the default threshold: the same order and the same cut as the similarity, always in 0-1.
# It is a bounded score, not a probability (on the demo's Hawaiian proposal, precision of the
# candidates above 0.5 was 0.95).
CONFIDENCE_MID = DEFAULT_THRESHOLD
CONFIDENCE_SCALE = 0.15
MAX_MIN_CONFIDENCE = 0.99  # similarity 0.89: a higher cut would be above what a raw cosine can reach


@dataclass
class Proposal:
    id: str
    collection: str
    attribute: str
    field: str
    value: str
    positives: list[str]
    negatives: list[str] = field(default_factory=list)
    combine: str = "mean"
    unlike_weight: float = 1.0
    threshold: float = DEFAULT_THRESHOLD
    center_by: str | None = None  # the category field whose per-value average look is removed; None: raw vectors
    filters: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""
    created_by: str = ""
    decisions: dict[str, str] = field(default_factory=dict)  # product id -> accept | reject
    batches: list[str] = field(default_factory=list)
    state: str = "open"  # open | closed

    def filter_objects(self) -> list[Filter]:
        return [Filter(**f) for f in self.filters]


@dataclass
class Candidate:
    id: str
    similarity: float  # what Solr ranks by: a cosine, or the centred similarity (may pass 1)
    score: float  # (1 + similarity) / 2, Solr's score scale
    positives: dict[str, float]  # example id -> cosine
    negatives: dict[str, float]
    current: Any = None  # the product's current value of the attribute
    origin: str = "absent"  # absent | human | propagated:<batch>
    blocked: str | None = None  # why applying would skip it (a human value)
    decision: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)  # title, image ... for display
    centred_on: str | None = None  # "category=bag": whose average look was removed before comparing

    @property
    def closest(self) -> str:
        return max(self.positives, key=self.positives.get)

    def reason(self) -> dict[str, Any]:
        best = self.closest
        others = [f"{e} {c:.3f}" for e, c in self.positives.items() if e != best]
        text = f"cosine {self.positives[best]:.3f} to example {best}" + (f" ({', '.join(others)})" if others else "")
        if self.negatives:
            worst = max(self.negatives, key=self.negatives.get)
            text += f"; {self.negatives[worst]:.3f} to negative example {worst}"
        if self.centred_on:
            text += (f"; compared after removing the average look of each product's category"
                     f" (this one: {self.centred_on}), so the shared print counts, not the shape")
        return {"text": text, "positives": self.positives, "negatives": self.negatives, "centred_on": self.centred_on}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["closest"] = self.closest
        d["confidence"] = round(confidence(self.similarity), 4)
        d["reason"] = self.reason()["text"]
        return d


@dataclass
class Batch:
    id: str
    collection: str
    attribute: str
    field: str
    value: str
    user: str
    created: str
    source: dict[str, Any]
    model: str | None
    pca_version: str | None
    written: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    state: str = "applying"  # applying | applied | undone
    undone: str | None = None
    undone_by: str | None = None
    undo_conflicts: list[dict[str, str]] = field(default_factory=list)


def new_id(prefix: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"



def check_threshold(t: float) -> float:
    if not -1.0 <= t <= 1.0:
        raise BadRequest(f"the threshold is a cosine similarity between -1 and 1, got {t}")
    return float(t)


def confidence(similarity: float) -> float:
    """The 0-1 confidence of a similarity (pure; see :data:`CONFIDENCE_MID`)."""
    z = (float(similarity) - CONFIDENCE_MID) / CONFIDENCE_SCALE
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def similarity_at(min_confidence: float) -> float:
    """The similarity threshold of a minimum confidence (pure): 0 means every product (-1)."""
    c = float(min_confidence)
    if not 0.0 <= c <= MAX_MIN_CONFIDENCE:
        raise BadRequest(f"the minimum confidence is between 0 and {MAX_MIN_CONFIDENCE}, got {min_confidence}")
    if c == 0.0:
        return -1.0
    return max(-1.0, CONFIDENCE_MID + CONFIDENCE_SCALE * math.log(c / (1.0 - c)))

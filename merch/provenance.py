"""Who set an attribute, what a batch writes, and how undo restores the exact previous state (pure).

Each attribute field ``<attr>_s`` (or ``<attr>_ss``) has a provenance field ``<attr>_src_s``:

* absent, with the attribute present: the value came from the catalog, so a human set it;
* ``human``: a merchandiser set it by hand;
* ``propagated:<batch>``: written by the batch ``<batch>`` (see :mod:`merch.propagation`).

A change records the product's fields **before** (value or :data:`ABSENT`) and **after**. Undo
sets every recorded field back to its before value and removes the fields that were absent
(atomic ``{"set": null}``), so the document reads exactly as it did - but only where the
current state is still what the batch wrote; a product someone changed since is reported as a
conflict and left alone unless undo is forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lookalike.errors import BadRequest

HUMAN = "human"
PROPAGATED = "propagated:"
SRC_SUFFIX = "_src_s"
ABSENT: None = None  # a field that is not in the document


def provenance_field(attribute: str) -> str:
    return f"{attribute}{SRC_SUFFIX}"


def is_provenance_field(name: str) -> bool:
    return name.endswith(SRC_SUFFIX)


def origin(doc: dict[str, Any], value_field: str, src_field: str) -> str:
    """``absent``, ``human`` or ``propagated:<batch>`` for one product's attribute."""
    if doc.get(value_field) in (None, []):
        return "absent"
    src = doc.get(src_field)
    if src is None or src == HUMAN:
        return HUMAN
    return str(src)


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return list(value) if value else None
    return value


@dataclass(frozen=True)
class Change:
    """One product's fields before and after a batch write (None = field absent)."""

    id: str
    before: dict[str, Any]
    after: dict[str, Any]
    score: float | None = None
    reason: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before, "after": self.after, "score": self.score,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Change":
        return cls(d["id"], d["before"], d["after"], d.get("score"), d.get("reason") or {})


@dataclass(frozen=True)
class Skip:
    id: str
    reason: str


def plan_write(doc: dict[str, Any], *, value_field: str, src_field: str, value: str, batch_id: str,
               overwrite_human: bool = False, score: float | None = None,
               reason: dict[str, Any] | None = None) -> Change | Skip:
    """What writing ``value`` into one product would change, or why it is skipped.

    Single-valued fields get the value; multi-valued (``_ss``) fields get it added. A value a
    human set is never replaced unless ``overwrite_human``; a propagated value may be.
    """
    multi = value_field.endswith("_ss")
    current = _norm(doc.get(value_field))
    who = origin(doc, value_field, src_field)
    if multi:
        if current is not None and value in current:
            return Skip(doc["id"], f"already has {value}")
        new_value: Any = (current or []) + [value]
    else:
        if current == value:
            return Skip(doc["id"], f"already has {value}")
        if who == HUMAN and not overwrite_human:
            return Skip(doc["id"], f"a human set {value_field}={current!r}")
        new_value = value
    before = {value_field: current, src_field: doc.get(src_field)}
    after = {value_field: new_value, src_field: f"{PROPAGATED}{batch_id}"}
    return Change(doc["id"], before, after, score, reason or {})


def atomic_update(doc_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A Solr atomic update setting each field (None removes the field)."""
    return {"id": doc_id, **{f: {"set": v} for f, v in values.items()}}


def matches(doc: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether a product's fields are exactly ``expected`` (None = absent)."""
    return all(_norm(doc.get(f)) == _norm(v) for f, v in expected.items())


def plan_undo(change: Change, current: dict[str, Any] | None, *, force: bool = False) -> dict[str, Any] | Skip:
    """The atomic update that restores ``change.before``, or why it is not safe to."""
    if current is None:
        return Skip(change.id, "the product no longer exists")
    if not force and not matches(current, change.after):
        return Skip(change.id, "changed since the batch was applied")
    return atomic_update(change.id, change.before)


def check_attribute(name: str) -> str:
    """An attribute name a merchandiser may write: letters, digits, underscore; not a fixed field."""
    from lookalike.fields import FIXED_FIELDS, SUFFIXES

    if not name or not name.replace("_", "").isalnum() or not name[0].isalpha() or not name.isascii():
        raise BadRequest(f"an attribute name is letters, digits and underscores starting with a letter, got {name!r}")
    if name in FIXED_FIELDS or name == "cluster":
        raise BadRequest(f"{name} is a fixed field, not an attribute")
    if any(name.endswith(s) for s in SUFFIXES) or name.endswith("_src"):
        raise BadRequest(f"name the attribute without a type suffix, got {name!r}")
    return name

"""An upserted product keeps each attribute in the Solr type the live collection has for it.

``lookalike.fields`` names a field by its value's type, so ``"tags": "summer"`` in an upsert
would otherwise start ``tags_s`` beside the catalog's ``tags_ss`` and split the facet (the
query layer would then see one or the other). A value that converts without loss is coerced
to the existing type, with a warning and a count: a string into a list of strings, an integer
into a number. Any other change is refused: :meth:`AttributeTypes.conform` raises
:class:`TypeChange` naming the attribute, the type the collection has and the one given.
"""

from __future__ import annotations

from lookalike.connection import SolrClient
from lookalike.fields import FIXED_FIELDS, SUFFIXES, VECTOR_FIELD, attribute_name

_KINDS = {"_s": "a string", "_ss": "a list of strings", "_l": "an integer", "_d": "a number", "_b": "a boolean"}
# (type given, type the collection has) -> how to convert without loss
_LOSSLESS = {("_s", "_ss"): lambda v: [v], ("_l", "_d"): float}


class TypeChange(ValueError):
    """A product gives an attribute a type the live collection does not have for it."""


class AttributeTypes:
    """The Solr type (field suffix) each attribute already has in a collection, and the rule
    that keeps an upserted document to it."""

    def __init__(self, collection: str, established: dict[str, set[str]]):
        self.collection = collection
        self.established = established  # attribute -> suffixes with at least one document
        self.coerced_docs = 0
        self._coerced: dict[tuple[str, str, str], int] = {}

    @classmethod
    def of(cls, client: SolrClient, collection: str, docs: list[dict]) -> "AttributeTypes":
        """One counting request: for every attribute in ``docs``, which typed fields hold values."""
        names = sorted({attribute_name(f) for d in docs for f in d if _is_attribute(f)})
        queries = [f"{name}{suffix}:[* TO *]" for name in names for suffix in SUFFIXES]
        established: dict[str, set[str]] = {}
        if queries:
            resp = client.select(collection, {"q": "*:*", "rows": 0, "facet": "true", "facet.query": queries})
            counts = resp.get("facet_counts", {}).get("facet_queries", {})
            for name in names:
                established[name] = {s for s in SUFFIXES if counts.get(f"{name}{s}:[* TO *]", 0) > 0}
        return cls(collection, established)

    def conform(self, doc: dict) -> dict:
        """``doc`` with every attribute in the collection's type for it; :class:`TypeChange` if impossible."""
        out = dict(doc)
        coerced = False
        for field_name in [f for f in doc if _is_attribute(f)]:
            name = attribute_name(field_name)
            given = field_name[len(name):]
            have = self.established.setdefault(name, set())
            if not have or given in have:
                have.add(given)  # a new attribute: its first type is the one
                continue
            target = next((t for t in sorted(have) if (given, t) in _LOSSLESS), None)
            if target is None:
                kinds = " and ".join(f"{_KINDS[t]} ({name}{t})" for t in sorted(have))
                raise TypeChange(
                    f"attribute {name!r} is {kinds} in {self.collection}, but this product gives {_KINDS[given]} "
                    f"({doc[field_name]!r}): not indexed; write it as {_KINDS[sorted(have)[0]]}"
                )
            out[f"{name}{target}"] = _LOSSLESS[(given, target)](out.pop(field_name))
            key = (name, given, target)
            self._coerced[key] = self._coerced.get(key, 0) + 1
            coerced = True
        self.coerced_docs += coerced
        return out

    def warnings(self) -> list[str]:
        return [
            f"attribute {name!r}: {n} product(s) gave {_KINDS[given]}, stored as {_KINDS[target]} ({name}{target}) "
            f"as {self.collection} has it"
            for (name, given, target), n in sorted(self._coerced.items())
        ]


def _is_attribute(field_name: str) -> bool:
    return field_name not in FIXED_FIELDS and field_name != VECTOR_FIELD and attribute_name(field_name) != field_name

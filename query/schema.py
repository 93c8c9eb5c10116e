"""The fields a request may name, computed from the collection's own schema.

A :class:`Schema` is the allow-list: the fixed fields of the ``products`` configset plus
the attribute fields that exist in the index (instances of the ``*_s``, ``*_ss``, ``*_l``,
``*_d``, ``*_b`` dynamic fields). Users name attributes without their suffix (``color``);
the Solr name (``color_s``) works too. An unknown name is a :class:`BadRequest` that lists
the known ones. Building it from Solr's JSON is pure (:meth:`Schema.from_solr`); reading
that JSON is the client's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lookalike.errors import BadRequest
from lookalike.fields import FIXED_FIELDS, MAX_IMAGES_PER_PRODUCT, VECTOR_FIELD, attribute_name, image_vector_field

Kind = Literal["string", "text", "long", "double", "boolean", "vector", "other"]

_KIND_BY_CLASS = {  # by the class's simple name: Solr writes "solr.StrField" or the full name
    "StrField": "string",
    "TextField": "text",
    "IntPointField": "long",
    "LongPointField": "long",
    "FloatPointField": "double",
    "DoublePointField": "double",
    "BoolField": "boolean",
    "DenseVectorField": "vector",
}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    kind: Kind
    multi_valued: bool = False

    @property
    def filterable(self) -> bool:
        return self.kind in ("string", "long", "double", "boolean")

    @property
    def numeric(self) -> bool:
        return self.kind in ("long", "double")


# fixed fields that are the index's bookkeeping, not a shopper's attributes
INTERNAL_FIELDS = frozenset({"id", "image", "images", "model", "pca_version"})


@dataclass(frozen=True)
class Schema:
    """The fields of one product collection; ``vector_dims`` is the width of ``vector``;
    ``image_fields`` are its vector fields by image position (``vector``, ``vector_1``, ...:
    more than one when products have several images, see query/multi_image.py)."""

    fields: dict[str, FieldInfo]
    vector_dims: int | None = None
    vector_field: str = VECTOR_FIELD
    image_fields: tuple[str, ...] = (VECTOR_FIELD,)
    _aliases: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        aliases: dict[str, str] = {}
        for name in self.fields:
            aliases[name] = name
        for name in self.fields:
            short = attribute_name(name)
            # ``color`` names ``color_s``, unless a fixed field or another suffix claims it.
            if short != name and short not in self.fields:
                aliases.setdefault(short, name)
        object.__setattr__(self, "_aliases", aliases)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_solr(cls, schema: dict[str, Any], used_fields: list[dict[str, Any]] | None = None) -> "Schema":
        """From ``GET /schema`` (``schema``) and ``GET /schema/fields?includeDynamic=true``.

        ``used_fields`` lists the dynamic-field instances present in the index; they become
        the attribute fields a request may name.
        """
        types = {t["name"]: t for t in schema.get("fieldTypes", [])}
        infos: dict[str, FieldInfo] = {}
        vector_dims = None

        def add(f: dict[str, Any]) -> None:
            nonlocal vector_dims
            name = f["name"]
            if name.startswith("_") or "*" in name:
                return
            ftype = types.get(f.get("type", ""), {})
            kind = _KIND_BY_CLASS.get(str(ftype.get("class", "")).rsplit(".", 1)[-1], "other")
            multi = bool(f.get("multiValued", ftype.get("multiValued", False)))
            infos[name] = FieldInfo(name, kind, multi)
            if kind == "vector" and name == VECTOR_FIELD:
                dims = f.get("vectorDimension", ftype.get("vectorDimension"))
                vector_dims = int(dims) if dims is not None else None

        for f in schema.get("fields", []):
            add(f)
        for f in used_fields or []:
            add(f)
        image_fields = []
        for n in range(MAX_IMAGES_PER_PRODUCT):
            info = infos.get(image_vector_field(n))
            if info is None or info.kind != "vector":
                break
            image_fields.append(info.name)
        return cls(fields=infos, vector_dims=vector_dims, image_fields=tuple(image_fields) or (VECTOR_FIELD,))

    @property
    def several_images(self) -> bool:
        """Whether products may have more than one image vector (``vector_1`` exists)."""
        return len(self.image_fields) > 1

    # -- the allow-list -----------------------------------------------------------------
    def known_names(self) -> list[str]:
        """What a user may write, as error messages list it: attribute names without suffix and
        the fixed fields a shopper knows (the index's own bookkeeping, such as ``model`` or
        ``pca_version``, still resolves but is not offered)."""
        names = {attribute_name(n) if self._aliases.get(attribute_name(n)) == n else n for n in self.fields}
        return sorted(n for n in names if n not in self.image_fields and n != self.vector_field
                      and n not in INTERNAL_FIELDS)

    def resolve(self, name: str, *, purpose: str = "field") -> FieldInfo:
        """The field a user-supplied name means; :class:`BadRequest` when there is none."""
        solr_name = self._aliases.get(name) if isinstance(name, str) else None
        if solr_name is None or solr_name == self.vector_field or solr_name in self.image_fields:
            known = ", ".join(self.known_names())
            raise BadRequest(f"unknown {purpose} {name!r}; known: {known}")
        return self.fields[solr_name]

    def filter_field(self, name: str) -> FieldInfo:
        return self._usable(name, "filter")

    def facet_field(self, name: str) -> FieldInfo:
        return self._usable(name, "facet")

    def _usable(self, name: str, use: str) -> FieldInfo:
        """The field ``name`` means, if one can ``use`` (filter, facet) on it: string, number, boolean."""
        info = self.resolve(name, purpose=f"{use} field")
        if not info.filterable:
            raise BadRequest(
                f"cannot {use} on {name!r}: it is a {info.kind} field; "
                f"{use}s work on string, number and boolean attributes"
            )
        return info

    def text_fields(self) -> list[str]:
        """Fields edismax searches for free text: ``title`` and the string attributes."""
        out = [n for n, f in self.fields.items() if f.kind == "text"]
        out += [n for n, f in self.fields.items() if f.kind == "string" and n not in FIXED_FIELDS]
        return sorted(out, key=lambda n: (n != "title", n))

"""Provenance rules and the plans that make undo exact (pure)."""

import pytest

from lookalike.errors import BadRequest
from merch.provenance import (
    Change, Skip, atomic_update, check_attribute, is_provenance_field, matches, origin, plan_undo, plan_write,
)

F, S = "pattern_s", "pattern_src_s"


def write(doc, value="hawaiian", **kw):
    return plan_write(doc, value_field=F, src_field=S, value=value, batch_id="b1", **kw)


def apply(doc, values):
    """What Solr does with an atomic ``set`` update (None removes the field)."""
    out = dict(doc)
    for f, v in values.items():
        if isinstance(v, dict):
            v = v["set"]
        if v is None or v == []:
            out.pop(f, None)
        else:
            out[f] = v
    return out


def test_origin_distinguishes_catalog_human_and_propagated_values():
    assert origin({"id": "a"}, F, S) == "absent"
    assert origin({"id": "a", F: "solid"}, F, S) == "human"  # from the catalog
    assert origin({"id": "a", F: "solid", S: "human"}, F, S) == "human"
    assert origin({"id": "a", F: "solid", S: "propagated:b0"}, F, S) == "propagated:b0"


def test_a_human_value_is_never_overwritten_unless_asked():
    doc = {"id": "a", F: "solid"}
    skip = write(doc)
    assert isinstance(skip, Skip) and "a human set" in skip.reason
    change = write(doc, overwrite_human=True)
    assert isinstance(change, Change) and change.before == {F: "solid", S: None}


def test_a_propagated_value_may_be_replaced_and_the_same_value_is_skipped():
    change = write({"id": "a", F: "dots", S: "propagated:b0"})
    assert change.before == {F: "dots", S: "propagated:b0"}
    assert change.after == {F: "hawaiian", S: "propagated:b1"}
    assert isinstance(write({"id": "a", F: "hawaiian"}), Skip)


@pytest.mark.parametrize("doc", [
    {"id": "a", "title": "x"},
    {"id": "a", F: "dots", S: "propagated:b0", "title": "x"},
    {"id": "a", F: "dots", "title": "x"},
])
def test_undo_of_a_write_restores_the_document_exactly(doc):
    change = write(doc, overwrite_human=True, score=0.9)
    written = apply(doc, atomic_update("a", change.after))
    assert written[F] == "hawaiian" and written[S] == "propagated:b1"
    undo = plan_undo(Change.from_dict(change.as_dict()), written)
    assert apply(written, {k: v for k, v in undo.items() if k != "id"}) == doc


def test_multivalued_fields_get_the_value_added_and_undo_removes_it():
    doc = {"id": "a", "tags_ss": ["summer"]}
    change = plan_write(doc, value_field="tags_ss", src_field="tags_src_s", value="hawaiian", batch_id="b")
    assert change.after["tags_ss"] == ["summer", "hawaiian"]
    written = apply(doc, atomic_update("a", change.after))
    assert apply(written, {k: v for k, v in plan_undo(change, written).items() if k != "id"}) == doc
    assert isinstance(plan_write(written, value_field="tags_ss", src_field="tags_src_s", value="hawaiian",
                                 batch_id="c"), Skip)


def test_undo_leaves_a_product_changed_since_alone_unless_forced():
    doc = {"id": "a"}
    change = write(doc)
    edited = {"id": "a", F: "stripes", S: "human"}
    skip = plan_undo(change, edited)
    assert isinstance(skip, Skip) and "changed since" in skip.reason
    assert plan_undo(change, edited, force=True) == {"id": "a", F: {"set": None}, S: {"set": None}}
    assert isinstance(plan_undo(change, None), Skip)
    assert matches({"id": "a", F: "x"}, {F: "x", S: None}) and not matches({"id": "a"}, {F: "x"})


def test_attribute_names_are_checked():
    assert check_attribute("pattern") == "pattern"
    for bad in ["", "9x", "a b", "pattern_s", "id", "cluster", "x}", "colour_src", "é"]:
        with pytest.raises(BadRequest):
            check_attribute(bad)
    assert is_provenance_field("pattern_src_s") and not is_provenance_field("pattern_s")

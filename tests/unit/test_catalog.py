import json

import pytest

from indexer.catalog import CatalogError, Product, is_url, parse_lines, read_catalog, write_catalog
from lookalike.errors import LookalikeError


def parse(*objs):
    lines = [o if isinstance(o, (str, bytes)) else json.dumps(o) for o in objs]
    return list(parse_lines(lines))


def only_error(*objs) -> CatalogError:
    items = parse(*objs)
    assert len(items) == 1
    assert isinstance(items[0], CatalogError), items[0]
    return items[0]


def test_full_line_becomes_product_with_attributes():
    (p,) = parse({
        "id": "p-1", "image": "images/p-1.jpg", "title": "Blue tee", "group": "g1", "price": 19,
        "in_stock": True, "color": "blue", "size_eu": 42, "weight": 0.25, "organic": False,
        "tags": ["summer", "cotton"],
    })
    assert p == Product(
        id="p-1", image="images/p-1.jpg", title="Blue tee", group="g1", price=19.0, in_stock=True,
        attributes={"color": "blue", "size_eu": 42, "weight": 0.25, "organic": False, "tags": ["summer", "cotton"]},
    )
    assert p.line == 1
    assert isinstance(p.price, float)


def test_to_solr_doc_uses_typed_dynamic_fields():
    (p,) = parse({"id": "a", "image": "a.jpg", "title": "T", "price": 5, "color": "red", "size_eu": 42,
                  "weight": 0.5, "organic": True, "tags": ["x", "y"]})
    assert p.to_solr_doc() == {
        "id": "a", "image": "a.jpg", "title": "T", "price": 5.0,
        "color_s": "red", "size_eu_l": 42, "weight_d": 0.5, "organic_b": True, "tags_ss": ["x", "y"],
    }


def test_optional_fields_absent_and_nulls_are_dropped():
    (p,) = parse({"id": "a", "image": "a.jpg", "title": None, "color": None, "tags": []})
    assert p.title is None and p.group is None and p.price is None and p.in_stock is None
    assert dict(p.attributes) == {}
    assert p.to_solr_doc() == {"id": "a", "image": "a.jpg"}


def test_integer_ids_and_groups_become_strings_but_other_types_are_rejected():
    (p,) = parse({"id": 15970, "image": "a.jpg", "group": 7})
    assert p.id == "15970" and p.group == "7"
    for bad in (1.5, True, ["a"], {"x": 1}):
        err = only_error({"id": bad, "image": "a.jpg"})
        assert err.reason == "bad_id"
        assert "id must be a string" in err.message


@pytest.mark.parametrize(
    "obj, reason",
    [
        ({"image": "a.jpg"}, "missing_id"),
        ({"id": "", "image": "a.jpg"}, "missing_id"),
        ({"id": "  ", "image": "a.jpg"}, "missing_id"),
        ({"id": "a\tb", "image": "a.jpg"}, "bad_id"),
        ({"id": "x" * 257, "image": "a.jpg"}, "bad_id"),
        ({"id": "a"}, "missing_image"),
        ({"id": "a", "image": ""}, "missing_image"),
        ({"id": "a", "image": 3}, "bad_image"),
        ({"id": "a", "image": "ftp://host/a.jpg"}, "bad_image"),
        ({"id": "a", "image": "a.jpg", "price": "12"}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "price": -1}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "price": True}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "in_stock": 1}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "title": 3}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "group": 1.5}, "bad_field"),
        ({"id": "a", "image": "a.jpg", "dims": {"w": 1}}, "bad_attribute_value"),
        ({"id": "a", "image": "a.jpg", "sizes": [1, 2]}, "bad_attribute_value"),
        ({"id": "a", "image": "a.jpg", "sizes": ["s", None]}, "bad_attribute_value"),
        ({"id": "a", "image": "a.jpg", "big": 2**64}, "bad_attribute_value"),
        ({"id": "a", "image": "a.jpg", "Color": "red"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "color-name": "red"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "_version_": 1}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "1st": "x"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "a" * 65: "x"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "model": "x"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "pca_version": "x"}, "bad_attribute_name"),
        ({"id": "a", "image": "a.jpg", "vector": [0.1]}, "bad_attribute_name"),
    ],
)
def test_rejections_name_a_reason(obj, reason):
    err = only_error(obj)
    assert err.reason == reason, err
    assert err.line == 1
    assert str(err).startswith("line 1: ")


def test_bad_attribute_name_suggests_a_safe_one():
    err = only_error({"id": "a", "image": "a.jpg", "Base Colour": "red"})
    assert "'base_colour'" in err.message


def test_error_carries_id_when_the_line_has_one():
    assert only_error({"id": "p-9", "image": "a.jpg", "price": "x"}).id == "p-9"
    assert only_error({"id": 12, "image": "a.jpg", "price": "x"}).id == "12"
    assert only_error({"image": "a.jpg"}).id is None


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"id": "a", "image": "a.jpg"', "bad_json"),
        ("not json", "bad_json"),
        ('{"id": "a", "image": "a.jpg", "w": NaN}', "bad_json"),
        ('{"id": "a", "image": "a.jpg", "w": Infinity}', "bad_json"),
        ('{"id": "a", "id": "b", "image": "a.jpg"}', "bad_json"),
        ('["a", "b"]', "not_an_object"),
        ('"a"', "not_an_object"),
        (b'{"id": "a\xff", "image": "a.jpg"}', "bad_encoding"),
    ],
)
def test_malformed_lines(line, reason):
    assert only_error(line).reason == reason


def test_image_references_of_every_supported_kind_are_kept_as_written():
    refs = ["images/a.jpg", "/abs/a.jpg", "file:///abs/a.jpg", "http://h/a.jpg", "https://h/a.jpg", "C:/x/a.jpg"]
    items = parse(*({"id": str(i), "image": r} for i, r in enumerate(refs)))
    assert [p.image for p in items] == refs


def test_is_url():
    assert is_url("http://h/a") and is_url("file:///a") and is_url("HTTPS://h")
    assert not is_url("images/a.jpg") and not is_url("C://x") and not is_url("/a:b") and not is_url("a:b")


def test_duplicate_id_keeps_first_and_names_its_line():
    items = parse({"id": "a", "image": "1.jpg"}, "", {"id": "b", "image": "2.jpg"}, {"id": "a", "image": "3.jpg"})
    assert [type(i).__name__ for i in items] == ["Product", "Product", "CatalogError"]
    assert items[0].image == "1.jpg"
    err = items[2]
    assert err.reason == "duplicate_id" and err.line == 4 and err.id == "a"
    assert "line 1" in err.message


def test_rejected_line_does_not_claim_its_id():
    items = parse({"id": "a", "image": "1.jpg", "price": "x"}, {"id": "a", "image": "2.jpg"})
    assert isinstance(items[0], CatalogError)
    assert isinstance(items[1], Product) and items[1].image == "2.jpg"


def test_read_catalog_reports_line_numbers_and_keeps_going(tmp_path):
    path = tmp_path / "catalog.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"id": "a", "image": "a.jpg"}).encode() + b"\n"
        b"{broken\n"
        b"\n"
        + json.dumps({"id": "b", "image": "b.jpg", "meta": {"x": 1}}).encode() + b"\n"
        + json.dumps({"id": "c", "image": "c.jpg", "color": "\u00e9cru"}).encode() + b"\r\n"
        + json.dumps({"id": "d", "image": "d.jpg"}).encode()  # no final newline
    )
    items = list(read_catalog(path))
    products = [i for i in items if isinstance(i, Product)]
    errors = [i for i in items if isinstance(i, CatalogError)]
    assert [p.id for p in products] == ["a", "c", "d"]
    assert [p.line for p in products] == [1, 5, 6]
    assert products[1].attributes == {"color": "\u00e9cru"}
    assert [(e.line, e.reason) for e in errors] == [(2, "bad_json"), (4, "bad_attribute_value")]
    assert errors[1].id == "b"


def test_missing_catalog_file_is_one_clear_error(tmp_path):
    with pytest.raises(LookalikeError, match="cannot read catalog"):
        list(read_catalog(tmp_path / "nope.jsonl"))


def test_write_catalog_round_trips(tmp_path):
    products = [
        Product(id="a", image="images/a.jpg", title="A", group="g", price=1.5, in_stock=False,
                attributes={"color": "red", "n": 3, "tags": ["x"]}),
        Product(id="b", image="http://h/b.jpg"),
    ]
    path = tmp_path / "c.jsonl"
    assert write_catalog(products, path) == 2
    assert list(read_catalog(path)) == products


def test_catalog_error_converts_to_report_item():
    err = only_error({"id": "z", "image": "a.jpg", "in_stock": "yes"})
    item = err.to_item_error()
    assert (item.id, item.line, item.source, item.reason) == ("z", 1, "catalog", "bad_field")
    assert "in_stock" in item.message and not item.message.startswith("line")


def test_products_are_hashable_by_their_fixed_fields():
    (a,) = parse({"id": "a", "image": "a.jpg", "color": "red"})
    assert len({a, a}) == 1


def test_catalog_error_survives_pickling():
    import pickle

    err = only_error({"id": "q", "image": 1})
    back = pickle.loads(pickle.dumps(err))
    assert (back.line, back.reason, back.id, back.source, str(back)) == (err.line, err.reason, "q", "catalog", str(err))

"""The API's own pure pieces: `field:value` filters, validation sentences, the catch-all 500."""

import pytest
from fastapi.testclient import TestClient

from lookalike.errors import BadRequest
from lookalike.settings import Settings
from app.web import create_app
from query.filters import parse_filters
from query.http.params import options_from_query
from query.models import Filter


def test_filters_on_one_field_merge_into_either_value_and_ranges_stay_apart():
    got = parse_filters(["color:red", "size:M", "color:blue", "price:10..50", "color:red"])
    assert got == (
        Filter(field="color", values=("red", "blue")),
        Filter(field="size", values=("M",)),
        Filter(field="price", min=10.0, max=50.0),
    )


def test_filter_alternatives_and_open_ranges():
    assert parse_filters(["color:red|navy"]) == (Filter(field="color", values=("red", "navy")),)
    assert parse_filters(["price:..20"]) == (Filter(field="price", max=20.0),)


def test_a_value_may_contain_colons():
    assert parse_filters(["note:a:b"]) == (Filter(field="note", values=("a:b",)),)


@pytest.mark.parametrize("raw", ["color", ":red", "color:", " :x"])
def test_malformed_filters_say_the_expected_shape(raw):
    with pytest.raises(BadRequest, match="field:value"):
        parse_filters([raw])


def test_default_candidates_leave_room_for_deep_pages():
    opts = options_from_query(k=10, offset=95, filter=[], min_similarity=None, facet=[], variants="include",
                              mode="auto", in_stock=None, candidates=None)
    assert opts["candidates"] == 105
    opts = options_from_query(k=10, offset=0, filter=[], min_similarity=0.5, facet=[], variants="include",
                              mode="auto", in_stock=None, candidates=None)
    assert "candidates" not in opts


@pytest.fixture()
def offline_app(tmp_path):
    # No Solr is needed for these routes: nothing here talks to it.
    return create_app(Settings(data_dir=tmp_path, solr_url="http://127.0.0.1:9/solr"))


def test_an_unexpected_error_is_a_generic_500_without_its_details(offline_app, caplog):
    def boom():
        raise RuntimeError("secret internal detail /etc/shadow")

    offline_app.add_api_route("/api/boom", boom)
    with TestClient(offline_app, raise_server_exceptions=False) as client:
        r = client.get("/api/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "something went wrong on our side; the error is in the server log", "status": 500}
    assert "secret" not in r.text
    assert any("secret internal detail" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)


def test_validation_sentence_names_the_parameter(offline_app):
    with TestClient(offline_app, raise_server_exceptions=False) as client:
        r = client.get("/api/products", params={"per_page": 0})
    assert r.status_code == 400
    assert r.json()["error"] == "query parameter per_page: Input should be greater than or equal to 1"

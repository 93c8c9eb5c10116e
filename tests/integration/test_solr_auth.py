"""Solr refuses strangers: the session's Solr runs with the security.json that `solr start` installs."""

from __future__ import annotations

import pytest
import requests

from lookalike.connection import SolrClient
from lookalike.errors import SolrRequestError

pytestmark = pytest.mark.usefixtures("solr")


@pytest.fixture
def coll(solr, collection_factory):
    if solr.kind != "local":
        pytest.skip("the Docker path runs the official image without our security.json")
    name = collection_factory(dims=4)
    solr.client.add(name, [{"id": "p1", "vector": [1.0, 0.0, 0.0, 0.0], "price_d": 10.0}], commit=True)
    return name


def _status(method: str, url: str, auth=None, **kw) -> int:
    return requests.request(method, url, auth=auth, timeout=30, **kw).status_code


def test_strangers_get_401_on_updates_collections_configsets_and_reads(solr, coll):
    base = solr.url
    assert _status("POST", f"{base}/{coll}/update?commit=true", json=[{"id": "p1", "price_d": 0.01}]) == 401
    assert _status("GET", f"{base}/admin/collections", params={"action": "LIST"}) == 401
    assert _status("GET", f"{base}/admin/collections", params={"action": "DELETE", "name": coll}) == 401
    assert _status("GET", f"{base}/admin/configs", params={"action": "LIST"}) == 401
    assert _status("GET", f"{base}/{coll}/select", params={"q": "*:*"}) == 401
    assert _status("GET", f"{base}/admin/authentication") == 401
    assert _status("GET", f"{base}/{coll}/select", auth=("lookalike-admin", "guess"), params={"q": "*:*"}) == 401
    # nothing changed: the price is the one the indexer wrote
    doc = solr.client.get(f"{coll}/get", {"id": "p1"})["doc"]
    assert doc["price_d"] == 10.0


def test_the_search_role_reads_but_cannot_write(solr, coll):
    with SolrClient(solr.settings, role="search") as reader:
        assert reader.select(coll, {"q": "*:*"})["response"]["numFound"] == 1
        assert reader.get(f"{coll}/get", {"id": "p1"})["doc"]["id"] == "p1"
        assert "fields" in reader.get(f"{coll}/schema/fields")
        assert reader.get(f"{coll}/admin/luke", {"numTerms": 0})["index"]["numDocs"] == 1
        assert coll in reader.collections_api("CLUSTERSTATUS")["cluster"]["collections"]
        for attempt in (
            lambda: reader.add(coll, [{"id": "p1", "price_d": 0.01}], commit=True),
            lambda: reader.collections_api("DELETE", name=coll),
            lambda: reader.collections_api("CREATEALIAS", name="hijack", collections=coll),
            lambda: reader.post(f"{coll}/schema", json_body={"delete-field": {"name": "price_d"}}),
            lambda: reader.get("admin/authentication"),
        ):
            with pytest.raises(SolrRequestError) as err:
                attempt()
            assert err.value.solr_status == 403
    assert solr.client.get(f"{coll}/get", {"id": "p1"})["doc"]["price_d"] == 10.0


def test_the_indexer_role_writes_but_cannot_touch_security(solr, coll):
    with SolrClient(solr.settings, role="indexer") as writer:
        writer.add(coll, [{"id": "p2", "vector": [0.0, 1.0, 0.0, 0.0]}], commit=True)
        assert writer.select(coll, {"q": "*:*"})["response"]["numFound"] == 2
        with pytest.raises(SolrRequestError) as err:
            writer.post("admin/authentication", json_body={"set-user": {"mallory": "pw"}})
        assert err.value.solr_status == 403


def test_a_bad_password_is_a_clear_error_not_a_crash(solr, coll, tmp_path):
    from lookalike.settings import Settings
    from pydantic import SecretStr

    wrong = Settings(data_dir=tmp_path, solr_url=solr.url, solr_user="lookalike-search",
                     solr_password=SecretStr("not-it"))
    with SolrClient(wrong) as client, pytest.raises(SolrRequestError) as err:
        client.select(coll, {"q": "*:*"})
    assert err.value.solr_status == 401 and "401" in str(err.value)

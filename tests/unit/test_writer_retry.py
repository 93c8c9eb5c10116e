"""Which failures the write stage sends a batch again for: the cluster's, never the batch's own."""

from __future__ import annotations

import pytest

from indexer.writer import transient
from lookalike.errors import BadRequest, SolrRequestError, SolrUnavailable


@pytest.mark.parametrize("err", [
    SolrUnavailable("Solr cannot serve products right now: No registered leader was found"),
    SolrRequestError("Solr answered 500 to POST /c/update: Async exception during distributed update: "
                     "java.nio.channels.ClosedChannelException", solr_status=500),
    SolrRequestError("Solr answered 500 to POST /c/update: Error from server at http://127.0.0.1:8984/solr/"
                     "c_shard2_replica_n4: Connection refused", solr_status=500),
])
def test_a_node_dying_under_a_write_is_retried(err):
    assert transient(err)


@pytest.mark.parametrize("err", [
    SolrRequestError("Solr answered 400 to POST /c/update: incorrect vector dimension", solr_status=400),
    SolrRequestError("Solr answered 500 to POST /c/update: NullPointerException", solr_status=500),
    BadRequest("vector width must be between 1 and 2048"),
])
def test_a_bad_batch_is_not_retried(err):
    assert not transient(err)

"""The codec factory's ``mergeWorkers`` (HNSW graphs merged with several threads) on a real Solr.

A copy of the products configset with ``<int name="mergeWorkers">3</int>`` in its
``<codecFactory>`` element gives a core that says, as it loads, that it merges with 3 workers
(the number is the setting's: the default here would be at most 2, the machine's cores), and so
does each reload of it (the schema changes create_collection makes reload the core); with ``0``
the collection is refused, and the node's log has the factory's sentence (the Collections API
answers only "Underlying core creation failed").
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from benchmarks.merge_workers_bench import copy_workers_configset
from lookalike.errors import LookalikeError
from lookalike.solr import cloud, node

def configset_with_workers(tmp_path: Path, workers: int) -> Path:
    """The products configset with ``mergeWorkers`` set in its codec factory."""
    return copy_workers_configset(tmp_path / f"products-mw{workers}", workers)


@pytest.fixture
def workers_collection(solr, tmp_path, request):
    """``make(workers) -> name``: a collection of a products configset with ``mergeWorkers``."""
    made: list[str] = []

    def make(workers: int) -> str:
        stem = f"t_mw{workers}_{time.monotonic_ns() % 1_000_000}"
        cloud.upload_configset(solr.client, f"{stem}_base", configset_with_workers(tmp_path, workers))
        made.append(stem)
        cloud.create_collection(solr.client, stem, dims=4, configset=f"{stem}_base")
        return stem

    yield make
    for stem in made:
        if stem in cloud.list_collections(solr.client):
            cloud.delete_collection(solr.client, stem)
        cloud.delete_configset(solr.client, f"{stem}_base")


def solr_log(solr) -> str:
    return node.NodeFiles(solr.settings.solr_dir, solr.port).solr_log.read_text(errors="replace")


def logged_workers(solr, collection: str) -> list[int]:
    """The worker counts the cores of ``collection`` logged as they loaded (the create request
    waited for the loads; the log is flushed line by line)."""
    pattern = re.compile(rf"core {re.escape(collection)}_shard\S*: HNSW graphs merge with (\d+) workers")
    return [int(m.group(1)) for m in pattern.finditer(solr_log(solr))]


def test_the_core_merges_with_the_configured_workers(solr, workers_collection):
    if solr.kind != "local":
        pytest.skip("reads the node's solr.log, which only the local runtime leaves on this disk")
    name = workers_collection(3)
    found = logged_workers(solr, name)
    assert found and set(found) == {3}, found


def test_fewer_than_one_worker_refuses_the_collection(solr, workers_collection):
    with pytest.raises(LookalikeError, match="core creation failed"):
        workers_collection(0)
    if solr.kind == "local":
        assert "mergeWorkers must be at least 1 (1 merges on the merging thread alone), got 0" in solr_log(solr)

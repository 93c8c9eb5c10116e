"""Shared fixtures: a real Solr for the whole session, and a fresh collection per test.

``solr`` starts one real SolrCloud node (our Maven runtime, embedded ZooKeeper) on a free
port with a temporary data dir, waits for its health by polling, and stops it at the end
(leaving no JVM). With ``LOOKALIKE_TEST_SOLR=docker`` and a Docker engine that answers, it
runs the official ``solr:9.10`` image through testcontainers instead; without an engine that
path is skipped and the reason is printed in the report header.

``collection_factory(dims=4, shards=1, replicas=1)`` creates a collection with its own vector
width and a unique name, and deletes it (and any alias pointing at it) after the test.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from lookalike import credentials
from lookalike.connection import SolrClient
from lookalike.errors import LookalikeError
from lookalike.settings import REPO_ROOT, Settings
from lookalike.solr import cloud, cluster, node

TEST_HEAP = "512m"
CREDENTIALS_ENV = "LOOKALIKE_SOLR_CREDENTIALS_FILE"
DOCKER_IMAGE = "solr:9.10"

# Property tests check answers, not speed: on a loaded 2-core machine one example of a pure
# function can take longer than Hypothesis' default 200 ms deadline, which then fails the test as
# flaky. Timings belong in the benchmarks.
hypothesis_settings.register_profile("lookalike", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("lookalike")


@dataclass
class SolrHandle:
    """What tests get from the ``solr`` fixture."""

    url: str
    settings: Settings
    client: SolrClient
    kind: str  # "local" (our runtime) or "docker"
    port: int

    def auth(self, role: str = "search") -> tuple[str, str] | None:
        """(user, password) of a Solr role, for raw requests that bypass :class:`SolrClient`."""
        cred = credentials.credential(self.settings, role)  # type: ignore[arg-type]
        return cred.as_auth() if cred else None


def docker_skip_reason() -> str | None:
    """Why the Docker path is not used, or None when it will be."""
    if os.environ.get("LOOKALIKE_TEST_SOLR", "local") != "docker":
        return "LOOKALIKE_TEST_SOLR is not 'docker'"
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as err:  # any failure to reach an engine means: no Docker path
        return f"no Docker engine answers ({err.__class__.__name__}: {str(err)[:120]})"
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    reason = docker_skip_reason()
    if reason is None:
        return [f"solr: Docker ({DOCKER_IMAGE}) through testcontainers"]
    lines = ["solr: local runtime (solr/launcher/target/runtime)"]
    if os.environ.get("LOOKALIKE_TEST_SOLR") == "docker":
        lines.append(f"solr: Docker path SKIPPED: {reason}")
    return lines


def _local_solr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrHandle]:
    data_dir = tmp_path_factory.mktemp("lookalike-data")
    port = node.free_base_port(1)
    settings = Settings(data_dir=data_dir, solr_url=node.base_url(port), solr_heap=TEST_HEAP)
    cluster.start(settings, nodes=1, port=port, heap=TEST_HEAP)
    # Solr is locked: every Settings() a test builds (the CLI's, the app's) finds the
    # credentials that start generated, wherever its data dir is.
    creds_file = credentials.credentials_path(settings)
    settings = settings.model_copy(update={"solr_credentials_file": creds_file})  # kept by every model_copy
    saved = os.environ.get(CREDENTIALS_ENV)
    os.environ[CREDENTIALS_ENV] = str(creds_file)
    client = SolrClient(settings, role="admin")
    try:
        yield SolrHandle(url=settings.solr_url, settings=settings, client=client, kind="local", port=port)
    finally:
        client.close()
        cluster.stop(settings)
        if saved is None:
            os.environ.pop(CREDENTIALS_ENV, None)
        else:
            os.environ[CREDENTIALS_ENV] = saved


def _docker_solr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrHandle]:
    from testcontainers.core.container import DockerContainer

    plugin = sorted((REPO_ROOT / "solr" / "plugin" / "target").glob("lookalike-solr-plugin-*.jar"))
    if not plugin:
        pytest.fail("the plugin jar is not built: run `make solr`")
    container = (
        DockerContainer(DOCKER_IMAGE)
        .with_command("solr-foreground -c")  # SolrCloud with embedded ZooKeeper
        .with_exposed_ports(8983)
        .with_volume_mapping(str(plugin[-1]), "/opt/solr/lib/lookalike-solr-plugin.jar", "ro")
    )
    container.start()
    try:
        port = int(container.get_exposed_port(8983))
        url = f"http://{container.get_container_host_ip()}:{port}/solr"
        settings = Settings(data_dir=tmp_path_factory.mktemp("lookalike-data"), solr_url=url)
        client = SolrClient(settings)
        deadline = time.monotonic() + settings.solr_start_timeout_s
        while not client.ping():
            if time.monotonic() > deadline:
                pytest.fail(f"Solr in Docker did not answer at {url}")
            time.sleep(0.5)
        cloud.upload_base_configsets(client)
        yield SolrHandle(url=url, settings=settings, client=client, kind="docker", port=port)
        client.close()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def solr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrHandle]:
    """A real Solr (SolrCloud) for the whole test session."""
    if docker_skip_reason() is None:
        yield from _docker_solr(tmp_path_factory)
    else:
        yield from _local_solr(tmp_path_factory)


@pytest.fixture
def collection_factory(solr: SolrHandle, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """``make(dims=4, shards=1, replicas=1) -> name``: a fresh collection, deleted after the test."""
    created: list[str] = []
    stem = re.sub(r"[^A-Za-z0-9]+", "_", request.node.name)[:40].strip("_").lower() or "test"

    def make(dims: int = 4, shards: int = 1, replicas: int = 1) -> str:
        name = f"t_{stem}_{len(created)}_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
        cloud.create_collection(solr.client, name, dims=dims, shards=shards, replicas=replicas)
        created.append(name)
        return name

    yield make
    if not created:
        return
    for alias, target in cloud.list_aliases(solr.client).items():
        if set(target.split(",")) & set(created):
            cloud.delete_alias(solr.client, alias)
    for name in created:
        try:
            cloud.delete_collection(solr.client, name)
        except LookalikeError:
            pass  # the test deleted it itself


"""docker-compose.yml: a three-server ZooKeeper ensemble and three official Solr nodes with our
plugin and configsets."""

from __future__ import annotations

import pytest
import yaml

from lookalike.settings import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def _solr_nodes(compose):
    return {n: s for n, s in compose["services"].items() if n.startswith("solr")}


ENSEMBLE = ("zk1", "zk2", "zk3")


def _bind(volume, source: str, target: str) -> bool:
    """A read-only bind of ``source`` into ``target``, in the long form that never creates a missing
    host path (the short form would make an empty directory where a file was expected)."""
    return (isinstance(volume, dict) and volume.get("type") == "bind" and volume["source"].startswith(source)
            and volume["target"].startswith(target) and volume.get("read_only") is True
            and volume.get("bind", {}).get("create_host_path") is False)


def test_a_three_server_zookeeper_ensemble(compose):
    ids = set()
    for name in ENSEMBLE:
        svc = compose["services"][name]
        env = svc["environment"]
        servers = env["ZOO_SERVERS"].split()
        assert sorted(s.split("=")[1].split(":")[0] for s in servers) == list(ENSEMBLE)
        ids.add(int(env["ZOO_MY_ID"]))
        assert "healthcheck" in svc and svc["volumes"], name
    assert ids == {1, 2, 3}


def test_three_official_solr_nodes_on_the_ensemble(compose):
    nodes = _solr_nodes(compose)
    assert len(nodes) == 3
    for name, svc in nodes.items():
        assert svc["image"].startswith("solr:9.10"), name
        env = svc["environment"]
        assert env["ZK_HOST"] == ",".join(f"{z}:2181" for z in ENSEMBLE)
        assert env["SOLR_HOST"] == name  # registers by the name the other nodes reach it by
        assert "jdk.incubator.vector" in env["SOLR_OPTS"]
        # the setting and its default, as the launcher passes them
        assert "-Dlookalike.filterVectorsMB=${LOOKALIKE_FILTER_VECTORS_MB:-256}" in env["SOLR_OPTS"]
        assert Settings.model_fields["filter_vectors_mb"].default == 256
        assert all(svc["depends_on"][z]["condition"] == "service_healthy" for z in ENSEMBLE)
        assert "healthcheck" in svc and "/solr/admin/info/health" in " ".join(svc["healthcheck"]["test"])
        assert any(_bind(v, "./solr/plugin/target/lookalike-solr-plugin", "/opt/solr/lib/") for v in svc["volumes"]), name


def test_security_json_is_in_zookeeper_before_any_node_starts(compose):
    sec = compose["services"]["security"]
    assert all(sec["depends_on"][zk]["condition"] == "service_healthy" for zk in ENSEMBLE)
    assert any(_bind(v, "./var/solr/security.json", "/lookalike/") for v in sec["volumes"])
    script = " ".join(sec["command"])
    assert "zk:/security.json" in script and "exit 1" in script  # no file: no node starts open
    for name, svc in _solr_nodes(compose).items():
        assert svc["depends_on"]["security"]["condition"] == "service_completed_successfully", name
        assert "LOOKALIKE_HEALTH_AUTH" in " ".join(svc["healthcheck"]["test"]), name
    assert not any("ports" in compose["services"][zk] for zk in ENSEMBLE)


def test_the_security_json_command_writes_what_compose_mounts(tmp_path, monkeypatch):
    import json
    import stat

    from lookalike.cli import main

    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LOOKALIKE_SOLR_CREDENTIALS_FILE", raising=False)
    out = tmp_path / "var" / "solr" / "security.json"
    assert main(["solr", "security-json", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["authentication"]["blockUnknown"] is True
    env = (out.parent / "solr.env").read_text()
    creds = json.loads((tmp_path / "data" / "solr" / "credentials.json").read_text())
    assert env == f"LOOKALIKE_HEALTH_AUTH=lookalike-search:{creds['search']['password']}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 == stat.S_IMODE((out.parent / "solr.env").stat().st_mode)


def test_configsets_are_uploaded(compose):
    init = compose["services"]["configsets"]
    assert any(v.startswith("./solr/configsets:") for v in init["volumes"])
    script = " ".join(init["command"])
    assert script.count("-z zk1:2181,zk2:2181,zk3:2181") == 2
    for name in ("products", "lookalike_meta"):
        assert f"-n {name}" in script
        assert (REPO_ROOT / "solr" / "configsets" / name / "solrconfig.xml").is_file()

"""The Docker paths without a Docker engine: docker-compose.yml loaded the way `docker compose
config` loads it, by compose-go's loader (tools/compose-config, built here with `go build`; the
first build downloads the pinned modules from the Go module proxy into Go's own cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lookalike.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
TOOL_SRC = REPO_ROOT / "tools" / "compose-config"
TOOL = REPO_ROOT / "build" / "compose-config" / "compose-config"  # /build/ is ignored by git

SERVICES = {"zk1", "zk2", "zk3", "security", "solr1", "solr2", "solr3", "configsets"}
POM = "{http://maven.apache.org/POM/4.0.0}"


def _plugin_jar() -> str:
    """solr/plugin/target/<artifactId>-<version>.jar, the jar `make solr` builds."""
    pom = ET.parse(REPO_ROOT / "solr" / "plugin" / "pom.xml").getroot()
    version = pom.find(f"{POM}version")
    if version is None:
        version = pom.find(f"{POM}parent/{POM}version")
    return f"solr/plugin/target/{pom.find(f'{POM}artifactId').text}-{version.text}.jar"


# Bind-mount sources that are made, not committed: each with the command that makes it.
GENERATED = {
    _plugin_jar(): "make solr",
    "var/solr/security.json": "lookalike solr security-json",
}


@pytest.fixture(scope="module")
def compose_config() -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed: tools/compose-config (compose-go's loader) cannot be built")
    TOOL.parent.mkdir(parents=True, exist_ok=True)
    build = subprocess.run([go, "build", "-buildvcs=false", "-o", str(TOOL), "."],
                           cwd=TOOL_SRC, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    return TOOL


def _load(tool: Path, compose: Path) -> subprocess.CompletedProcess[str]:
    # the OS environment is interpolated, as by docker compose; COMPOSE_* variables would change the project
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run([str(tool), "-format", "json", str(compose)],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def project(compose_config) -> dict:
    out = _load(compose_config, COMPOSE)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_compose_file_loads_with_every_service(project):
    assert project["name"] == "lookalike"
    assert set(project["services"]) == SERVICES


def test_every_path_it_references_exists_or_is_made(project):
    root = REPO_ROOT.resolve()
    for name, svc in project["services"].items():
        build = svc.get("build")
        if build:  # the loader resolves the context against the project dir; the Dockerfile against the context
            context = Path(build["context"])
            assert context.is_dir(), f"{name}: build context {context} is missing"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: no Dockerfile in {context}"
        for env_file in svc.get("env_file", []):
            assert not env_file.get("required", True) or Path(env_file["path"]).is_file(), f"{name}: {env_file}"
        for vol in svc.get("volumes", []):
            if vol["type"] != "bind":
                continue
            source = Path(vol["source"])
            assert source.is_relative_to(root), f"{name}: {source} is outside the repository"
            rel = source.relative_to(root).as_posix()
            if rel in GENERATED:
                continue
            assert source.exists(), (f"{name}: {rel} does not exist; if a command makes it, "
                                     "add it to GENERATED with that command")


def test_the_generated_mounts_are_what_their_commands_make(project):
    """A file a command makes is mounted so that `up` refuses while it is missing: with the short
    form Docker would create an empty directory in its place (and the mount would then hide the
    real file for good)."""
    text = COMPOSE.read_text()
    root = REPO_ROOT.resolve()
    binds = [v for svc in project["services"].values() for v in svc.get("volumes", []) if v["type"] == "bind"]
    for rel, command in GENERATED.items():
        mounts = [v for v in binds if Path(v["source"]) == root / rel]
        assert mounts, f"{rel} ({command}) is no longer mounted: drop it from GENERATED"
        for v in mounts:
            assert v.get("bind", {}).get("create_host_path") is False, f"{rel}: {v}"
        assert command in text, f"the comment should say that `{command}` makes {rel}"


def _replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


# What each breakage does to a copy of docker-compose.yml, and what the loader must then say.
BROKEN = {
    "an unknown top-level key": (lambda text: text + "\nbogus_top_level: 1\n",
                                 "additional properties 'bogus_top_level' not allowed"),
    "an unknown service field": (_replace("  solr1:\n", "  solr1:\n    bogus_field: 1\n"),
                                 "services.solr1.bogus_field"),
    "a dependency on no service": (_replace("      solr1:\n        condition:", "      solr9:\n        condition:"),
                                   'depends on undefined service "solr9"'),
    "a required env file that is missing": (_replace("required: false", "required: true"),
                                            "var/solr/solr.env not found"),
}


@pytest.mark.parametrize("breakage", list(BROKEN), ids=list(BROKEN))
def test_a_broken_compose_file_fails_with_the_loaders_message(compose_config, tmp_path, breakage):
    change, message = BROKEN[breakage]
    text = COMPOSE.read_text()
    broken = change(text)
    assert broken != text, f"{breakage}: the change no longer applies to docker-compose.yml"
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    out = _load(compose_config, path)
    assert out.returncode != 0, out.stdout
    assert message in out.stderr

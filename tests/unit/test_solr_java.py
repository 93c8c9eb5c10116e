"""JDK discovery: version parsing, choosing the newest usable JDK, and its vector flags."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lookalike.errors import ConfigError
from lookalike.solr.java import Jdk, choose, find_jdk, parse_release_file, parse_version_output


@pytest.mark.parametrize(
    "text, feature",
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "25" 2025-09-16', 25),
        ('openjdk version "21.0.2-ea" 2024-01-16', 21),
        ('java version "1.8.0_402"', 8),
        ("no version here", None),
    ],
)
def test_parse_version_output(text, feature):
    assert parse_version_output(text) == feature


def test_parse_release_file():
    assert parse_release_file('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="25.0.1"\n') == 25
    assert parse_release_file('JAVA_VERSION="1.8.0_402"\n') == 8
    assert parse_release_file("OS_NAME=Linux\n") is None


def test_choose_takes_the_newest_usable_jdk():
    jdks = [Jdk(Path("/a"), 11), Jdk(Path("/b"), 17), Jdk(Path("/c"), 25), Jdk(Path("/d"), 21)]
    assert choose(jdks).feature == 25
    assert choose([Jdk(Path("/a"), 11)]) is None


def test_vector_flags_by_version():
    assert Jdk(Path("/j"), 17).vector_flags() == []
    assert Jdk(Path("/j"), 21).vector_flags() == ["--add-modules", "jdk.incubator.vector"]
    flags25 = Jdk(Path("/j"), 25).vector_flags()
    assert "--add-modules" in flags25 and "jdk.incubator.vector" in flags25
    assert "-Dorg.apache.lucene.vectorization.upperJavaFeatureVersion=25" in flags25
    assert not any("upperJavaFeatureVersion" in f for f in Jdk(Path("/j"), 22).vector_flags())


def _fake_jdk(root: Path, version: str) -> Path:
    home = root / f"jdk-{version}"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\"' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home


def test_find_jdk_honours_java_home(tmp_path):
    home = _fake_jdk(tmp_path, "21.0.3")
    jdk = find_jdk(home)
    assert jdk.feature == 21 and jdk.home == home.resolve()


def test_find_jdk_rejects_an_old_java_home(tmp_path):
    home = _fake_jdk(tmp_path, "11.0.2")
    with pytest.raises(ConfigError, match=r"too old.*Java 11.*17 or newer"):
        find_jdk(home)


def test_find_jdk_reports_a_missing_java(tmp_path):
    with pytest.raises(ConfigError, match="no runnable bin/java"):
        find_jdk(tmp_path / "nowhere")


def test_find_jdk_reports_java_missing_everywhere(monkeypatch, tmp_path):
    import lookalike.solr.java as java

    monkeypatch.setattr(java, "candidate_homes", lambda java_home=None: [tmp_path / "empty"])
    with pytest.raises(ConfigError, match="Java is missing"):
        find_jdk()


def test_find_jdk_on_this_machine_is_at_least_17():
    assert find_jdk().feature >= 17


def test_choose_falls_back_when_the_newest_does_not_work():
    jdks = [Jdk(Path("/b"), 17), Jdk(Path("/c"), 25), Jdk(Path("/d"), 21)]
    assert choose(jdks, works=lambda j: j.feature != 25).feature == 21
    assert choose(jdks, works=lambda j: False) is None


def test_a_jdk_that_refuses_our_flags_is_reported(tmp_path):
    home = tmp_path / "jdk-broken"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'Unrecognized option: --add-modules' >&2\nexit 1\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    (home / "release").write_text('JAVA_VERSION="25.0.1"\n')
    with pytest.raises(ConfigError, match="starts with Solr's JVM flags"):
        find_jdk(home)

"""The class-data archive: one node records it, a clean stop keeps it, later nodes map it."""

from __future__ import annotations

from pathlib import Path

from lookalike.solr import cds
from lookalike.solr.java import Jdk

JDK = Jdk(Path("/usr/lib/jvm/some-jdk"), 25)


def test_first_node_records_and_others_wait(tmp_path):
    first = cds.flags(tmp_path, JDK, 8983)
    assert len(first) == 1 and first[0].startswith("-XX:ArchiveClassesAtExit=")
    assert cds.flags(tmp_path, JDK, 8984) == []  # one recorder at a time


def test_a_clean_exit_keeps_the_recording(tmp_path):
    flag = cds.flags(tmp_path, JDK, 8983)[0]
    Path(flag.split("=", 1)[1]).write_bytes(b"archive")  # what the JVM writes at exit
    cds.finish(tmp_path, 8983, exited_cleanly=True)
    archive = cds.archive_path(tmp_path, JDK)
    assert archive.read_bytes() == b"archive"
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name]
    assert cds.flags(tmp_path, JDK, 8984) == [f"-XX:SharedArchiveFile={archive}", "-XX:+VerifySharedSpaces"]


def test_a_killed_recorder_leaves_nothing(tmp_path):
    flag = cds.flags(tmp_path, JDK, 8983)[0]
    Path(flag.split("=", 1)[1]).write_bytes(b"half")
    cds.finish(tmp_path, 8983, exited_cleanly=False)
    assert not cds.archive_path(tmp_path, JDK).exists()
    assert list((tmp_path / "cds").iterdir()) == []
    assert cds.flags(tmp_path, JDK, 8985)[0].startswith("-XX:ArchiveClassesAtExit=")


def test_each_jdk_has_its_own_archive(tmp_path):
    other = Jdk(Path("/usr/lib/jvm/other"), 17)
    assert cds.archive_path(tmp_path, JDK) != cds.archive_path(tmp_path, other)

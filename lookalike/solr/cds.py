"""A class-data-sharing (CDS) archive of the classes a Solr node loads: nodes start about
twice as fast when they map it instead of loading and verifying ~10,000 classes from jars.

The first node started while there is no archive records one (``-XX:ArchiveClassesAtExit``)
into ``<runtime>/cds/<key>.jsa.<port>.tmp`` when it exits; when ``stop`` sees that node exit
on its own after SIGTERM, the file is renamed into place. Later nodes map it
(``-XX:SharedArchiveFile``, checksummed with ``-XX:+VerifySharedSpaces``). The archive lives in
the runtime dir; ``make solr`` updates that dir in place and leaves the archive, but the JVM
maps an archive only while the jars on the class path are the ones it was dumped from (it
checks their size and modification time), so a rebuilt jar's classes are never replaced by
stale ones; another JDK uses another file. A stale or mismatched archive is never fatal: the
JVM prints a warning into console.log and loads classes the usual way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

from lookalike.solr.java import Jdk

log = logging.getLogger(__name__)

STALE_RECORDING_S = 3600  # a recorder that never reported back (crashed) stops blocking others


def archive_path(runtime_dir: Path, jdk: Jdk) -> Path:
    key = hashlib.sha256(str(jdk.home).encode()).hexdigest()[:10]
    return runtime_dir / "cds" / f"solr-java{jdk.feature}-{key}.jsa"


def _marker(archive: Path, port: int) -> Path:
    return archive.with_name(f"{archive.name}.{port}.recording")


def _tmp(archive: Path, port: int) -> Path:
    return archive.with_name(f"{archive.name}.{port}.tmp")


def flags(runtime_dir: Path, jdk: Jdk, port: int) -> list[str]:
    """JVM flags for the node on ``port``: map the archive, record it, or nothing."""
    archive = archive_path(runtime_dir, jdk)
    if archive.is_file():
        return [f"-XX:SharedArchiveFile={archive}", "-XX:+VerifySharedSpaces"]
    archive.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for other in archive.parent.glob(f"{archive.name}.*.recording"):
        try:
            if now - other.stat().st_mtime < STALE_RECORDING_S:
                return []  # another node is recording: start without
            other.unlink()
        except FileNotFoundError:
            continue
    try:
        fd = os.open(_marker(archive, port), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return []
    os.close(fd)
    log.info("node on port %d records the class-data archive %s", port, archive)
    return [f"-XX:ArchiveClassesAtExit={_tmp(archive, port)}"]


def finish(runtime_dir: Path, port: int, *, exited_cleanly: bool) -> None:
    """After the node on ``port`` is gone: keep its recording if it exited cleanly."""
    cds_dir = runtime_dir / "cds"
    if not cds_dir.is_dir():
        return
    for marker in cds_dir.glob(f"*.jsa.{port}.recording"):
        archive = marker.with_name(marker.name.rsplit(".", 2)[0])
        tmp = _tmp(archive, port)
        if exited_cleanly and tmp.is_file() and tmp.stat().st_size > 0 and not archive.exists():
            os.replace(tmp, archive)
            log.info("class-data archive ready: %s", archive)
        tmp.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)

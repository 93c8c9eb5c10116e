"""Find a JDK to run Solr with, and the JVM flags that suit it.

Solr 9.10 needs Java 17 or newer. The newest JDK found wins: Lucene 9.12 computes vector
similarities with SIMD instructions (the Panama Vector API, an incubator module) on Java 21
and newer when the JVM is given ``--add-modules jdk.incubator.vector``; Lucene 9.12 only
trusts feature versions up to 22 by default, so on newer JDKs we raise its bound with
``-Dorg.apache.lucene.vectorization.upperJavaFeatureVersion``. The node's log then says
"Java vector incubator API enabled".
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lookalike.errors import ConfigError

log = logging.getLogger(__name__)

MIN_FEATURE = 17
# Where Debian/Ubuntu, Temurin packages and SDKMAN put JDKs.
JVM_DIRS = (Path("/usr/lib/jvm"), Path.home() / ".sdkman" / "candidates" / "java")
_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')
_RELEASE_RE = re.compile(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?[^"]*"', re.M)


@dataclass(frozen=True)
class Jdk:
    home: Path
    feature: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"

    def vector_flags(self) -> list[str]:
        """JVM flags that switch on Lucene's SIMD vector code on this JDK (none before Java 21)."""
        if self.feature < 21:
            return []
        flags = ["--add-modules", "jdk.incubator.vector"]
        if self.feature >= 22:
            # Lucene uses the foreign-memory API to mmap index files; say that is intended.
            flags.append("--enable-native-access=ALL-UNNAMED")
        if self.feature > 22:
            flags.append(f"-Dorg.apache.lucene.vectorization.upperJavaFeatureVersion={self.feature}")
        return flags

    def describe(self) -> str:
        return f"Java {self.feature} at {self.home}"


def parse_version_output(text: str) -> int | None:
    """The feature version from ``java -version`` output (``1.8.0_x`` -> 8, ``25.0.1`` -> 25)."""
    m = _VERSION_RE.search(text)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def parse_release_file(text: str) -> int | None:
    """The feature version from a JDK's ``release`` file (``JAVA_VERSION="17.0.15"`` -> 17)."""
    m = _RELEASE_RE.search(text)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def probe(home: Path) -> Jdk | None:
    """The JDK at ``home``, or None when there is no runnable java there."""
    java = home / "bin" / "java"
    if not (java.is_file() and os.access(java, os.X_OK)):
        return None
    feature = None
    release = home / "release"
    if release.is_file():
        feature = parse_release_file(release.read_text(errors="replace"))
    if feature is None:
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        feature = parse_version_output(out.stderr + out.stdout)
    return Jdk(home.resolve(), feature) if feature is not None else None


def candidate_homes(java_home: Path | None = None) -> list[Path]:
    """Places to look, in order: the setting, $JAVA_HOME, the java on $PATH, the usual JVM dirs."""
    homes: list[Path] = []
    if java_home is not None:
        return [Path(java_home)]
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    for root in JVM_DIRS:
        if root.is_dir():
            homes.extend(sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()))
    return homes


def choose(jdks: list[Jdk], works: Callable[[Jdk], bool] = lambda jdk: True) -> Jdk | None:
    """The newest JDK that Solr can run on and that ``works``, or None."""
    usable = sorted((j for j in jdks if j.feature >= MIN_FEATURE), key=lambda j: j.feature, reverse=True)
    return next((j for j in usable if works(j)), None)


def accepts_flags(jdk: Jdk) -> bool:
    """The JVM starts with the flags we would give it (``java <flags> -version``)."""
    try:
        out = subprocess.run(
            [str(jdk.java), *jdk.vector_flags(), "-version"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if out.returncode != 0:
        log.warning("%s refuses our JVM flags: %s", jdk.describe(), out.stderr.strip()[:300])
    return out.returncode == 0


def find_jdk(java_home: Path | None = None) -> Jdk:
    """The JDK to run Solr with: ``java_home`` if set (it must be >= 17), else the newest found
    that starts with our flags (so a broken newer JDK falls back to an older one).

    Raises :class:`ConfigError` with a one-line reason when there is none.
    """
    seen: dict[Path, Jdk] = {}
    for home in candidate_homes(java_home):
        jdk = probe(home)
        if jdk is not None:
            seen.setdefault(jdk.home, jdk)
    if java_home is not None and not seen:
        raise ConfigError(f"LOOKALIKE_JAVA_HOME={java_home} has no runnable bin/java")
    best = choose(list(seen.values()), accepts_flags)
    if best is None:
        if seen:
            found = ", ".join(f"Java {j.feature}" for j in seen.values())
            if any(j.feature >= MIN_FEATURE for j in seen.values()):
                raise ConfigError(f"no JDK found ({found}) starts with Solr's JVM flags: set LOOKALIKE_JAVA_HOME")
            raise ConfigError(
                f"Java is too old for Solr 9 (found {found}; need {MIN_FEATURE} or newer): "
                "install a JDK 17+ or set LOOKALIKE_JAVA_HOME"
            )
        raise ConfigError(
            f"Java is missing: install a JDK {MIN_FEATURE}+ (e.g. apt-get install openjdk-17-jdk-headless) "
            "or set LOOKALIKE_JAVA_HOME"
        )
    return best

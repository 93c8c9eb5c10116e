"""An image file's content hash, remembered by the file's identity: a rerun over the same
catalog reads no image file whose embedding is cached.

The embedding cache (:mod:`indexer.cache`) is keyed by the SHA-256 of an image's bytes, so
finding a product's vector meant reading and hashing its whole file on every run: a 100k
catalog of 100 KB photographs is 10 GB read per warm reindex, from disk when the page cache
does not hold them (about 130 us a small file cold here, 25 warm). :class:`ContentKeys` maps a
local file's identity (its absolute path, device, inode, size, and mtime and ctime in
nanoseconds) to the hash its bytes had when it was last read. Writing the file, renaming
another over it, ``touch``, ``chmod`` or a copy changes its ctime (which no user can set) or
its inode, so the entry no longer matches and the file is read and hashed again.

**Racy entries.** A file changed within the file system's timestamp granularity of the moment it
was hashed could keep its size and timestamps. An entry whose mtime or ctime lies less than
:data:`RACY_NS` before the moment it was recorded is not trusted: that file is read again, and
the entry recorded then, later, is trusted (what git does with its index).

One SQLite file beside the embedding cache (the standard library's ``sqlite3``, in WAL mode with a
busy timeout, so jobs running at once can share it). It only saves work: any error opening,
reading or writing it is logged once and the job reads the files as before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "content-keys.sqlite3"
RACY_NS = 2_000_000_000  # 2 s: coarser than any file system's timestamps (FAT's are 2 s)
_BATCH = 500  # paths per SELECT (SQLite allows 999 parameters by default)
_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    sha256 TEXT NOT NULL, recorded_ns INTEGER NOT NULL) WITHOUT ROWID"""


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class ContentKeys:
    """File identity -> content SHA-256, in the SQLite file ``path``; ``clock`` gives the time in ns."""

    def __init__(self, path: str | Path, *, clock: Callable[[], int] = time.time_ns):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._failed = False
        self.known_files = 0  # lookups answered without reading the file

    @classmethod
    def beside(cls, cache_root: str | Path) -> "ContentKeys":
        """The memo of the embedding cache under ``cache_root``."""
        return cls(Path(cache_root) / FILE_NAME)

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None and not self._failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # a lost last commit only means files read again
                db.execute(_SCHEMA)
                self._db = db
            except (sqlite3.Error, OSError) as err:
                self._give_up(err)
        return self._db

    def _give_up(self, err: Exception) -> None:
        log.warning("the content-key memo %s cannot be used (%s); image files are read and hashed as before",
                    self.path, err)
        self._failed = True
        if self._db is not None:
            self._db.close()
        self._db = None

    def known(self, paths: Sequence[str]) -> dict[str, str]:
        """``path -> content SHA-256`` for those of ``paths`` (local files) whose identity is the one
        recorded with their hash, and whose entry is not racy. A file that cannot be stat'ed, or is
        not a regular file, is left out (reading it says why)."""
        identities: dict[str, tuple[int, ...]] = {}  # absolute path -> identity
        absolute: dict[str, str] = {}  # as asked -> absolute path
        for p in paths:
            try:
                st = os.stat(p)
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(st.st_mode):
                absolute[p] = os.path.abspath(p)
                identities[absolute[p]] = _identity(st)
        if not identities:
            return {}
        with self._lock:
            db = self._connection()
            if db is None:
                return {}
            found: dict[str, str] = {}
            names = list(identities)
            try:
                for start in range(0, len(names), _BATCH):
                    chunk = names[start:start + _BATCH]
                    rows = db.execute(
                        "SELECT path, dev, ino, size, mtime_ns, ctime_ns, sha256, recorded_ns FROM files "
                        f"WHERE path IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                    for path, dev, ino, size, mtime_ns, ctime_ns, sha256, recorded_ns in rows:
                        if identities[path] == (dev, ino, size, mtime_ns, ctime_ns) and \
                                recorded_ns - max(mtime_ns, ctime_ns) >= RACY_NS:
                            found[path] = sha256
            except sqlite3.Error as err:
                self._give_up(err)
                return {}
        self.known_files += len(found)
        return {p: found[a] for p, a in absolute.items() if a in found}

    def remember(self, entries: Iterable[tuple[str, os.stat_result, str]]) -> None:
        """Record ``(path, the stat of the file as it was read, its content SHA-256)``."""
        now = self._clock()
        rows = [(os.path.abspath(p), *_identity(st), sha256, now) for p, st, sha256 in entries
                if stat.S_ISREG(st.st_mode)]
        if not rows:
            return
        with self._lock:
            db = self._connection()
            if db is None:
                return
            try:
                with db:  # one transaction for the batch
                    db.execute("BEGIN")
                    db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.Error as err:
                self._give_up(err)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

"""Files only their owner may read (credentials, password hashes, tokens): written whole, mode 0600.

The file is created 0600 from the start (never world-readable for an instant) under a
temporary name and renamed over the target, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path

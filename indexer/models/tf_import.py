"""TensorFlow, imported once and quietly.

Importing TensorFlow 2.x on a CPU machine writes start-up lines from C++ straight to the
process's stderr: absl's "All log messages before absl::InitializeLog() is called ...", oneDNN's
notice and "Could not find cuda drivers", twice (two native libraries load), whatever
``TF_CPP_MIN_LOG_LEVEL`` says, and into the middle of the indexer's progress bar. They read
like failures and are not. :func:`import_tensorflow` imports it with file descriptor 2 pointed
at a temporary file, then writes back every captured line that is not that chatter (a warning
another thread logged meanwhile, or the reason the import failed, is kept). With ``--verbose``
(DEBUG logging) nothing is captured and TensorFlow speaks as it likes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from types import ModuleType
from typing import Iterator

log = logging.getLogger(__name__)

# TensorFlow's start-up lines: absl's notice, and INFO/WARNING lines of the native files that probe
# the CPU and CUDA (``I0000 00:00:1796171582.760105   18352 port.cc:153] oneDNN custom operations ...``,
# ``E0000 ... cuda_platform.cc:52] failed call to cuInit: ...`` when the first model is built)
START_UP_CHATTER = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ (port|cudart_stub|cuda_\w+|cpu_feature_guard|dso_loader)\.cc:\d+\]"
)
_lock = threading.Lock()


def import_tensorflow() -> ModuleType:
    """``import tensorflow``, without its start-up chatter unless logging is at DEBUG."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _lock:
        if "tensorflow" not in sys.modules:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # what TensorFlow does filter
            with quiet_start_up():
                import tensorflow  # noqa: F401
    return sys.modules["tensorflow"]


def quiet_start_up() -> contextlib.AbstractContextManager[None]:
    """Around the import and a model's first build (where CUDA is probed: "failed call to cuInit"):
    the chatter held back, unless logging is at DEBUG (``--verbose``)."""
    return contextlib.nullcontext() if log.isEnabledFor(logging.DEBUG) else native_stderr_filtered()


@contextlib.contextmanager
def native_stderr_filtered(chatter: re.Pattern[str] = START_UP_CHATTER) -> Iterator[None]:
    """Everything written to file descriptor 2 meanwhile (by C++ or Python) is held back, then
    written out again without the lines that match ``chatter``."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to redirect: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if not chatter.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()

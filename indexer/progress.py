"""A progress bar with rate and ETA for long jobs (tqdm), silent when disabled.

While the bar runs, log records (a bad image, a retried download) are written above it by
tqdm instead of through the middle of it.
"""

from __future__ import annotations

import contextlib
import sys
from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


@contextmanager
def progress_bar(total: int, desc: str, *, enabled: bool = True) -> Iterator[tqdm]:
    bar = tqdm(total=total, desc=desc, unit="img", disable=not enabled, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    try:
        with logging_redirect_tqdm() if enabled else contextlib.nullcontext():
            yield bar
    finally:
        bar.close()

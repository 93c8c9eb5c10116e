"""A progress bar with rate and ETA for long jobs (tqdm), silent when disabled."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm


@contextmanager
def progress_bar(total: int, desc: str, *, enabled: bool = True) -> Iterator[tqdm]:
    bar = tqdm(total=total, desc=desc, unit="img", disable=not enabled, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    try:
        yield bar
    finally:
        bar.close()

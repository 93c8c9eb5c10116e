"""Writing a development set: every (item, seller) picture drawn, then one catalog.

A set is a list of :class:`Job` (one item and what its pictures share); :func:`write_set`
draws each item's pictures by each seller with a generator seeded by (seed, set, item, seller),
so the result does not depend on the number of threads, and writes ``catalog.jsonl`` in item
order. The same seed gives a byte-identical catalog and images.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from indexer.catalog_files import draw_all, write_catalog
from quality.devsets.sellers import MAX_SELLERS, SELLERS, photograph


@dataclass(frozen=True)
class Job:
    """One item: its key, how to draw its cut-out, and the catalog fields its pictures share."""

    index: int
    item: str
    cutout: Callable[[], Image.Image]
    fields: dict[str, Any] = field(default_factory=dict)


def check_sellers(sellers: int) -> None:
    if not 2 <= sellers <= MAX_SELLERS:
        raise ValueError(f"sellers must be between 2 and {MAX_SELLERS}, got {sellers}")


def write_set(out_dir: Path | str, jobs: Sequence[Job], *, name: str, sellers: int, seed: int,
              scenes: Sequence[np.ndarray], workers: int | None = None) -> Path:
    """Draw and write the set; returns the path of ``catalog.jsonl``."""
    check_sellers(sellers)
    out = Path(out_dir)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)

    stream = zlib.crc32(name.encode())  # two sets with one seed draw different pictures

    def draw(job: Job) -> list[dict[str, Any]]:
        cutout = job.cutout()
        rows = []
        for k, seller in enumerate(SELLERS[:sellers]):
            rng = np.random.default_rng([seed, stream, job.index, k])
            photo = photograph(cutout, seller, rng, scenes)
            pid = f"{name}-{job.index:04d}-{seller.name}"
            (images / f"{pid}.jpg").write_bytes(photo.jpeg)
            rows.append({"id": pid, "image": f"images/{pid}.jpg", **job.fields, "item": job.item,
                         "source": seller.name, "background": photo.background, "image_size": photo.size})
        return rows

    per_item = draw_all(draw, jobs, workers=workers, name=f"devset-{name}")
    return write_catalog(out, (row for rows in per_item for row in rows), images_glob=f"{name}-*.jpg", sort_keys=True)

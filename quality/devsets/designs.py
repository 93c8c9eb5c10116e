"""Development set "sellers": each demo design photographed by several sellers.

The designs are the demo catalog's (:func:`indexer.demo_catalog.plan`, drawn by
:func:`indexer.demo_drawing.render_design`); each design is one *item*, and each seller of
:data:`quality.devsets.sellers.SELLERS` takes one picture of it in its own style
(:func:`quality.devsets.sellers.photograph` lists the perturbations). Scene backgrounds are
crops of the two photographs scikit-learn ships (``china.jpg``, ``flower.jpg``).

Catalog fields: ``item`` (the ground truth: the design), ``group`` (the demo's design group,
the same partition), ``source`` (the seller), ``category``, ``style``, ``pattern``, ``color``,
``background`` and ``image_size`` (what the picture got, for analysis), ``title``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.demo_catalog import plan
from indexer.demo_drawing import CANVAS, render_design
from quality.devsets.writer import Job, write_set

NAME = "sellers"


def generate_sellers(out_dir: Path | str, *, designs: int = 300, sellers: int = 4, seed: int = 0,
                     workers: int | None = None) -> Path:
    """Write ``designs`` items x ``sellers`` pictures into ``out_dir``; returns ``catalog.jsonl``."""
    if designs < 2:
        raise ValueError(f"designs must be at least 2, got {designs}")
    # plan() sizes designs by product count; ask for enough products, keep the first designs
    specs = plan(designs * 6, seed)[:designs]
    jobs = []
    for spec in specs:
        d = spec.design
        jobs.append(Job(
            index=spec.index, item=f"item-{spec.index:04d}",
            cutout=lambda d=d: render_design(d, CANVAS),
            fields={"title": spec.title(), "group": spec.group, "category": d.category, "style": d.style,
                    "pattern": d.pattern, "color": d.colour},
        ))
    return write_set(out_dir, jobs, name=NAME, sellers=sellers, seed=seed, scenes=scenes(), workers=workers)


@lru_cache(maxsize=1)
def scenes() -> tuple[np.ndarray, ...]:
    """The real photographs scene backgrounds are cut from: scikit-learn's two sample images."""
    from sklearn.datasets import load_sample_image

    return tuple(np.asarray(load_sample_image(name)) for name in ("china.jpg", "flower.jpg"))

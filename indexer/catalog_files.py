"""Writing a generated catalog: draw its pictures on a few threads, then write ``catalog.jsonl``.

Shared by the demo catalog (:mod:`indexer.demo_catalog`) and the development sets
(:mod:`quality.devsets`): both draw many pictures, write the catalog atomically (a reader never
sees half a file) and remove the pictures an earlier, larger run left in the same folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lookalike.machine import available_cpus

J = TypeVar("J")
R = TypeVar("R")


def draw_all(draw: Callable[[J], R], jobs: Sequence[J], *, workers: int | None, name: str) -> list[R]:
    """``[draw(job) for job in jobs]``, on up to ``workers`` threads (default: the CPUs, at most 4).

    Threads, not processes: Pillow and numpy release the GIL in the heavy calls, and a caller's
    script needs no ``if __name__ == "__main__"`` guard (which spawn would demand).
    """
    workers = workers if workers is not None else min(available_cpus(), 4)
    if workers > 1 and len(jobs) >= 2 * workers:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
            return list(pool.map(draw, jobs))
    return [draw(job) for job in jobs]


def write_catalog(out: Path, rows: Iterable[dict[str, Any]], *, images_glob: str, sort_keys: bool = False) -> Path:
    """Write ``out/catalog.jsonl`` atomically, then delete the pictures matching ``images_glob``
    under ``out/images`` that no row names (as ``image`` or in ``images``); returns the catalog's path."""
    catalog = out / "catalog.jsonl"
    tmp = catalog.with_name(catalog.name + ".tmp")
    written = set()
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            written.update(Path(ref).name for ref in row.get("images") or [row["image"]])
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=sort_keys) + "\n")
    tmp.replace(catalog)
    for stale in (out / "images").glob(images_glob):
        if stale.name not in written:
            stale.unlink()
    return catalog

"""Hard development sets: products "photographed by different sellers", generated offline.

Two sets from different imagery, so nobody tunes to one:

- ``sellers`` (:func:`generate_sellers`): the demo catalog's drawn designs;
- ``photos`` (:func:`generate_photos`): crops of real photographs shipped by scikit-image.

Each writes ``OUT/catalog.jsonl`` and ``OUT/images/`` in the catalog format; ``item`` is the
ground truth (the same product), ``source`` the seller who took the picture. The same seed
gives byte-identical files. :data:`PRESETS` are the sizes the tests and benchmarks use.
"""

from __future__ import annotations

from pathlib import Path

from quality.devsets.designs import generate_sellers
from quality.devsets.photos import generate_photos
from quality.devsets.sellers import MAX_SELLERS, SELLERS

SETS = {"sellers": generate_sellers, "photos": generate_photos}
PRESETS = {"small": 20, "main": 300}  # items per set
DEFAULT_SELLERS = 4

__all__ = ["DEFAULT_SELLERS", "MAX_SELLERS", "PRESETS", "SELLERS", "SETS", "generate", "generate_photos",
           "generate_sellers"]


def generate(name: str, out_dir: Path | str, *, items: int, sellers: int = DEFAULT_SELLERS, seed: int = 0,
             workers: int | None = None) -> Path:
    """The set ``name`` (a key of :data:`SETS`) with ``items`` items; returns ``catalog.jsonl``."""
    if name not in SETS:
        raise ValueError(f"unknown development set {name!r}; choose one of {', '.join(SETS)}")
    size_arg = "designs" if name == "sellers" else "items"
    return SETS[name](out_dir, **{size_arg: items}, sellers=sellers, seed=seed, workers=workers)

"""The development sets: deterministic, valid catalogs, each item seen by every seller."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from indexer.catalog import read_catalog
from quality.devsets import SELLERS, generate

pytest.importorskip("skimage")

SETS = ("sellers", "photos")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", SETS)
def test_same_seed_same_bytes_whatever_the_threads(tmp_path: Path, name: str) -> None:
    generate(name, tmp_path / "a", items=5, sellers=3, seed=4, workers=1)
    generate(name, tmp_path / "b", items=5, sellers=3, seed=4, workers=3)
    generate(name, tmp_path / "c", items=5, sellers=3, seed=5, workers=1)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 1 + 5 * 3
    assert a == b
    images = [k for k in a if k.startswith("images/")]
    assert sum(a[k] != c.get(k) for k in images) >= len(images) - 1, "another seed must draw other pictures"


@pytest.mark.parametrize("name", SETS)
def test_catalog_is_valid_and_every_item_has_one_picture_per_seller(tmp_path: Path, name: str) -> None:
    sellers = 4
    catalog = generate(name, tmp_path, items=8, sellers=sellers, seed=0)
    products = list(read_catalog(catalog))
    errors = [p for p in products if isinstance(p, Exception)]
    assert not errors
    by_item: dict[str, list] = defaultdict(list)
    for p in products:
        by_item[p.attributes["item"]].append(p)
        assert (catalog.parent / p.image).is_file()
    assert len(by_item) == 8
    expected_sources = {s.name for s in SELLERS[:sellers]}
    groups = set()
    for item, ps in by_item.items():
        assert {p.attributes["source"] for p in ps} == expected_sources
        assert len({p.group for p in ps}) == 1  # group: the same partition as item
        groups.add(ps[0].group)
    assert len(groups) == 8


def test_sellers_vary_from_picture_to_picture(tmp_path: Path) -> None:
    """A seller is a style with per-picture randomness, not one fixed transform."""
    catalog = generate("sellers", tmp_path, items=12, sellers=4, seed=1)
    rows = [json.loads(line) for line in catalog.read_text().splitlines()]
    phone = [r for r in rows if r["source"] == "phone"]
    assert len({r["image_size"] for r in phone}) > 1
    assert len({r["background"] for r in phone}) > 1
    # and sellers differ from each other: the studio shoots large, the phone small
    studio = [r["image_size"] for r in rows if r["source"] == "studio"]
    assert min(studio) > max(r["image_size"] for r in phone)


@pytest.mark.parametrize("name,items,sellers", [("sellers", 1, 4), ("photos", 1, 4), ("sellers", 3, 1),
                                                ("photos", 3, 99), ("photos", 100_000, 4)])
def test_bad_sizes_are_refused_with_a_sentence(tmp_path: Path, name: str, items: int, sellers: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate(name, tmp_path, items=items, sellers=sellers)

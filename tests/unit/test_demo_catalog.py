import hashlib
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from indexer.catalog import CatalogError, Product, read_catalog
from indexer.demo_catalog import PATTERNS, generate, plan
from indexer.demo_drawing import STYLES
from indexer.images import load_image
from lookalike.settings import Settings


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "images").iterdir())}


def products(catalog) -> list[Product]:
    items = list(read_catalog(catalog))
    assert not [i for i in items if isinstance(i, CatalogError)]
    return items


def test_same_seed_same_catalog_and_images_also_across_threads(tmp_path):
    a = generate(tmp_path / "a", count=40, seed=3, workers=1)
    b = generate(tmp_path / "b", count=40, seed=3, workers=2)
    assert a.read_text() == b.read_text()
    assert digest(a.parent) == digest(b.parent)
    c = generate(tmp_path / "c", count=40, seed=4, workers=1)
    assert c.read_text() != a.read_text()


def test_catalog_is_valid_and_its_images_load(tmp_path):
    catalog = generate(tmp_path / "demo", count=30, seed=1, workers=1)
    assert catalog == tmp_path / "demo" / "catalog.jsonl"
    items = products(catalog)
    assert len(items) == 30 and len({p.id for p in items}) == 30
    assert len(list((tmp_path / "demo" / "images").iterdir())) == 30
    settings = Settings(data_dir=tmp_path)
    for p in items:
        im = load_image(p.image, catalog.parent, settings)
        assert im.size == (256, 256) and im.mode == "RGB"
        assert p.title.endswith(f"by {p.attributes['brand']}")
        assert p.attributes["color"].capitalize() in p.title
        assert p.price > 0 and isinstance(p.in_stock, bool)
        doc = p.to_solr_doc()
        assert {"category_s", "color_s", "pattern_s", "brand_s", "size_s", "rating_d", "tags_ss"} <= set(doc)
    # the picture shows the product, not an empty background: the middle differs from the corners
    arr = np.asarray(load_image(items[0].image, catalog.parent, settings), dtype=np.float32)
    assert np.abs(arr[96:160, 96:160].mean(axis=(0, 1)) - arr[:8, :8].mean(axis=(0, 1))).max() > 20


def test_variants_share_a_design_and_differ_in_size_and_picture(tmp_path):
    catalog = generate(tmp_path, count=30, seed=2, workers=1)
    groups: dict[str, list[Product]] = {}
    for p in products(catalog):
        groups.setdefault(p.group, []).append(p)
    assert all(3 <= len(g) <= 6 or len(g) == 2 for g in groups.values())
    for members in groups.values():
        shared = {(m.title, m.attributes["category"], m.attributes["color"], m.attributes["pattern"]) for m in members}
        assert len(shared) == 1
        pictures = {(catalog.parent / m.image).read_bytes() for m in members}
        assert len(pictures) == len(members)  # no two variants have the same picture
        if members[0].attributes["category"] != "bag":
            assert len({m.attributes["size"] for m in members}) == len(members)


def test_variants_are_nearer_each_other_than_other_designs(tmp_path):
    """The ground truth of "similar": in plain pixel space, an image's nearest neighbour is almost
    always a variant of its own design (a CNN embedding is only more tolerant of the shifts)."""
    catalog = generate(tmp_path, count=60, seed=0, workers=1)
    items = products(catalog)
    x = np.stack([
        np.asarray(Image.open(catalog.parent / p.image).resize((24, 24), Image.Resampling.BOX), np.float32).ravel()
        for p in items
    ])
    groups = np.array([p.group for p in items])
    sq = (x**2).sum(1)
    dist = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(dist, np.inf)
    same = groups[dist.argmin(1)] == groups
    assert same.mean() >= 0.9, same.mean()


def test_plan_sizes_and_design_variety():
    for count in (1, 2, 5, 7, 2000):
        specs = plan(count, seed=0)
        assert sum(s.variants for s in specs) == count
        assert all(s.variants >= 2 for s in specs) or count < 2
    specs = plan(2000, seed=0)
    keys = [(s.design.category, s.design.style, s.design.pattern, s.design.colour) for s in specs]
    assert len(set(keys)) == len(keys)
    assert set(Counter(s.design.category for s in specs)) == set(STYLES)
    assert set(Counter(s.design.pattern for s in specs)) == set(PATTERNS)
    assert all(s.design.secondary != s.design.colour for s in specs)
    assert len({s.group for s in specs}) == len(specs)


def test_bad_count():
    with pytest.raises(ValueError, match="count"):
        generate("/nonexistent", count=0)


def test_regenerating_smaller_removes_stale_pictures(tmp_path):
    generate(tmp_path, count=12, seed=0, workers=1)
    (tmp_path / "images" / "keep-me.jpg").write_bytes(b"x")
    generate(tmp_path, count=5, seed=0, workers=1)
    names = {p.name for p in (tmp_path / "images").iterdir()}
    assert names == {f"{p.id}.jpg" for p in products(tmp_path / "catalog.jsonl")} | {"keep-me.jpg"}

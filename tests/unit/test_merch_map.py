"""The catalog map's layout and sample (pure): look-alikes land together, positions in 0..1."""

from __future__ import annotations

import numpy as np

from merch.catalog_map import layout, sample_rows


def test_layout_keeps_groups_of_look_alikes_together():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 64)) * 4
    labels = np.repeat(np.arange(3), 30)
    vectors = centres[labels] + rng.normal(size=(90, 64))
    xy = layout(vectors)
    assert xy.shape == (90, 2) and xy.min() >= -1e-9 and xy.max() <= 1 + 1e-9
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = labels[:, None] == labels[None]
    np.fill_diagonal(same, False)
    # every product's nearest neighbour on the map looks like it
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).all()
    assert d[same].mean() < 0.5 * d[~same & np.isfinite(d)].mean()


def test_layout_of_tiny_catalogs_and_the_sample():
    assert layout(np.zeros((0, 4))).shape == (0, 2)
    assert layout(np.ones((1, 4))).tolist() == [[0.5, 0.5]]
    assert layout(np.eye(3)).shape == (3, 2)
    assert sample_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    s = sample_rows(100_000, 5000)
    assert len(s) == len(set(s.tolist())) == 5000 and (np.diff(s) > 0).all()
    assert (sample_rows(100_000, 5000) == s).all()  # seeded: the same sample every time

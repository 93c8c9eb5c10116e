"""The 0-1 confidence a merchandiser reads and sets, and the similarity cut it stands for (pure)."""

from __future__ import annotations

import pytest

from lookalike.errors import BadRequest
from merch.records import DEFAULT_THRESHOLD, confidence, similarity_at


def test_confidence_is_bounded_monotone_and_half_at_the_default_threshold():
    sims = [-1.0, -0.2, 0.0, 0.1, 0.2, 0.5, 1.0, 1.122, 3.0]
    confs = [confidence(s) for s in sims]
    assert all(0.0 <= c <= 1.0 for c in confs)
    assert confs == sorted(confs) and len(set(confs)) == len(confs)
    assert confidence(DEFAULT_THRESHOLD) == pytest.approx(0.5)


@pytest.mark.parametrize("c", [0.05, 0.3, 0.5, 0.8, 0.95, 0.99])
def test_a_minimum_confidence_is_the_similarity_cut_with_that_confidence(c):
    assert confidence(similarity_at(c)) == pytest.approx(c, abs=1e-9) or similarity_at(c) == -1.0


def test_confidence_zero_means_every_product_and_out_of_range_is_refused():
    assert similarity_at(0) == -1.0
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(BadRequest, match="minimum confidence is between 0 and 0.99"):
            similarity_at(bad)

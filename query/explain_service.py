"""Explaining a match: the I/O around :mod:`query.explain`.

Per explanation (cached by the live index's collection and PCA version, ``a``, ``b`` and the
examples; ``EXPLAIN_CACHE_SIZE`` answers kept):

1. one real-time get of ``a``, ``b`` and the examples with their stored image vectors;
2. the best pair of images, the shared attributes, the examples ranked against ``a``;
3. one occlusion heat-map per image of the pair (``a``'s, then ``b``'s): the picture read from the
   images root (a web image is left out, with a note), decoded with the photo limits, and it and
   its ``grid x grid`` occluded copies embedded in one batch with the index's model and PCA. The
   heat-maps share ``explain_budget_s`` (the model's first load is not counted): one that would end
   past it, judged by what the one before cost, is left out, and a note says so.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lookalike.errors import BadRequest
from lookalike.settings import Settings
from query.client import SearchService
from query.embedder import ImageEmbedder
from query.explain import Explanation, Heatmap, best_pair, check_pair, heatmap, occluded_pictures, rank_examples, shared_attributes
from query.models import Product
from query.product_images import LocalImage, resolve_image

EXPLAIN_CACHE_SIZE = 256
MAX_EXAMPLES = 20


class Explainer:
    def __init__(self, settings: Settings, search: SearchService, embedder: ImageEmbedder | None,
                 image_root: Callable[[], Path], index_version: Callable[[], str]):
        self.settings = settings
        self.search = search
        self.embedder = embedder
        self.image_root = image_root
        self.index_version = index_version
        self._cache: OrderedDict[tuple, Explanation] = OrderedDict()
        self._lock = threading.Lock()

    def explain(self, a: str, b: str, examples: tuple[str, ...] = ()) -> Explanation:
        check_pair(a, b, examples)
        if len(examples) > MAX_EXAMPLES:
            raise BadRequest(f"at most {MAX_EXAMPLES} examples, got {len(examples)}")
        started = time.perf_counter()
        key = (self.index_version(), a, b, examples)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key].model_copy(update={"cached": True, "took_ms": _ms(started)})
        answer = self._compute(a, b, examples, started)
        with self._lock:
            self._cache[key] = answer
            while len(self._cache) > EXPLAIN_CACHE_SIZE:
                self._cache.popitem(last=False)
        return answer

    def _compute(self, a: str, b: str, examples: tuple[str, ...], started: float) -> Explanation:
        found = self.search.products_with_vectors(list(dict.fromkeys((a, b, *examples))))
        (pa, va), (pb, vb) = found[a], found[b]
        i, j, similarity = best_pair(va, vb)
        ranked = rank_examples(va, {e: found[e][1] for e in examples})
        notes: list[str] = []
        heatmaps: list[Heatmap] = []
        grid = self.settings.explain_grid
        budget = self.settings.explain_budget_s
        if self.embedder is not None:
            self.embedder.embed_pictures([])  # loads the index's model once per process: not counted
        heat_started, last_cost = time.perf_counter(), 0.0
        for product, n, other in ((pa, i, vb[j]), (pb, j, va[i])):
            spent = time.perf_counter() - heat_started
            if last_cost and spent + last_cost > budget:  # the first always comes; a next one would end past it
                notes.append(f"no heat-map of {product.id}'s image {n}: the time budget of {budget:g} s "
                             f"(LOOKALIKE_EXPLAIN_BUDGET_S) does not leave room for it")
                continue
            t0 = time.perf_counter()
            made = self._heatmap(product, n, other, grid, notes)
            last_cost = time.perf_counter() - t0
            if made is not None:
                heatmaps.append(made)
        return Explanation(
            a=a, b=b, similarity=round(similarity, 6), image_a=i, image_b=j,
            shared=shared_attributes(pa.attributes, pb.attributes), heatmaps=tuple(heatmaps),
            examples=tuple(ranked), closest_example=ranked[0] if ranked else None, notes=tuple(notes),
            took_ms=_ms(started),
        )

    def _heatmap(self, product: Product, n: int, other: np.ndarray, grid: int, notes: list[str]) -> Heatmap | None:
        if self.embedder is None:
            notes.append("no heat-maps: no embedding model is loaded")
            return None
        images = product.images or ((product.image,) if product.image else ())
        found = resolve_image(images[n] if n < len(images) else "", self.image_root())
        if not isinstance(found, LocalImage):
            notes.append(f"no heat-map of {product.id}'s image {n}: it is on the web ({found.url}), not read by the server")
            return None
        picture = self.embedder.decode(found.path.read_bytes())
        pictures = occluded_pictures(picture, grid)
        vectors = self.embedder.embed_pictures(pictures)  # the picture and its grid x grid copies: one batch
        return heatmap(product.id, n, picture, vectors, other, grid)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)

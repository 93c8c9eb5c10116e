"""Backgrounds a seller puts a product on: plain, studio, gradient, textures, scenes.

Each function draws an ``S x S`` RGB ``uint8`` array from a seeded ``numpy`` generator, so a
seed gives the same pixels. Textures are procedural (value noise, wood grain, woven fabric,
tiles, paper); a *scene* is a blurred, randomly placed crop of a real photograph handed in by
the caller (the development set decides which photographs), so the background has real
clutter, like a picture taken at home.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageFilter

Rng = np.random.Generator
KINDS = ("plain", "studio", "gradient", "noise", "wood", "fabric", "tiles", "paper", "scene")


def background(kind: str, size: int, rng: Rng, scenes: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One background of ``kind`` (one of :data:`KINDS`); ``scene`` needs ``scenes``."""
    if kind == "scene" and not scenes:
        kind = "noise"
    return _DRAW[kind](size, rng, scenes)


def _colour(rng: Rng, light: tuple[int, int] = (40, 235)) -> np.ndarray:
    return rng.uniform(light[0], light[1], size=3)


def _plain(S: int, rng: Rng, scenes) -> np.ndarray:
    c = _colour(rng, (25, 245))
    return np.broadcast_to(c, (S, S, 3)).astype(np.uint8).copy()


def _studio(S: int, rng: Rng, scenes) -> np.ndarray:
    """Near-white sweep: a bright wall fading into a slightly darker floor, with a vignette."""
    base = rng.uniform(215, 252)
    tint = rng.uniform(-6, 6, size=3)
    y = np.linspace(0, 1, S)[:, None]
    x = np.linspace(-1, 1, S)[None, :]
    horizon = rng.uniform(0.55, 0.8)
    fall = np.where(y > horizon, (y - horizon) * rng.uniform(20, 45), 0.0)
    vignette = (x**2 + (y * 2 - 1) ** 2) * rng.uniform(0, 18)
    v = base - fall - vignette
    return np.clip(v[..., None] + tint, 0, 255).astype(np.uint8)


def _gradient(S: int, rng: Rng, scenes) -> np.ndarray:
    a, b = _colour(rng), _colour(rng)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.linspace(-0.5, 0.5, S)
    proj = np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]
    w = (proj - proj.min()) / max(1e-6, float(np.ptp(proj)))
    return (a * (1 - w[..., None]) + b * w[..., None]).astype(np.uint8)


def _value_noise(S: int, rng: Rng, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a random ``cells x cells`` grid, resized bicubically."""
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((S, S), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0


def _noise(S: int, rng: Rng, scenes) -> np.ndarray:
    """Stone, concrete, gravel: two octaves of value noise between two colours."""
    n = 0.65 * _value_noise(S, rng, int(rng.integers(4, 10))) + 0.35 * _value_noise(S, rng, int(rng.integers(24, 64)))
    a, b = _colour(rng, (30, 200)), _colour(rng, (80, 240))
    return np.clip(a * (1 - n[..., None]) + b * n[..., None], 0, 255).astype(np.uint8)


def _wood(S: int, rng: Rng, scenes) -> np.ndarray:
    """Wood grain: rings along one axis, bent by smooth noise."""
    warp = _value_noise(S, rng, int(rng.integers(3, 7))) * rng.uniform(6, 20)
    t = np.arange(S, dtype=np.float32)
    period = rng.uniform(6, 18)
    along = t[None, :] if rng.random() < 0.5 else t[:, None]
    rings = 0.5 + 0.5 * np.sin((along + warp * period) * 2 * np.pi / period)
    light = np.array([rng.uniform(150, 215), rng.uniform(100, 150), rng.uniform(55, 95)])
    dark = light * rng.uniform(0.55, 0.75)
    return np.clip(dark + (light - dark) * rings[..., None] ** 1.5, 0, 255).astype(np.uint8)


def _fabric(S: int, rng: Rng, scenes) -> np.ndarray:
    """A woven cloth: fine threads in both directions, a little irregular."""
    t = np.arange(S, dtype=np.float32)
    p = rng.uniform(2.5, 6)
    warp = 0.5 + 0.5 * np.sin(t * 2 * np.pi / p)
    weft = 0.5 + 0.5 * np.sin(t * 2 * np.pi / (p * rng.uniform(0.8, 1.25)))
    weave = 0.5 * warp[None, :] + 0.5 * weft[:, None]
    weave = weave * 0.7 + 0.3 * _value_noise(S, rng, int(rng.integers(8, 20)))
    c = _colour(rng, (40, 220))
    return np.clip(c * (0.7 + 0.45 * weave[..., None]), 0, 255).astype(np.uint8)


def _tiles(S: int, rng: Rng, scenes) -> np.ndarray:
    """Floor or wall tiles with grout lines, each tile its own shade."""
    n = int(rng.integers(3, 9))
    step = S / n
    t = np.arange(S)
    cell = (t // step).astype(int)
    shade = rng.uniform(0.85, 1.1, size=(n + 1, n + 1))
    c = _colour(rng, (90, 240))
    img = c * shade[cell[:, None], cell[None, :]][..., None]
    grout = ((t % step) < max(1.5, step * 0.05))
    lines = grout[:, None] | grout[None, :]
    img[lines] = _colour(rng, (40, 200))
    return np.clip(img, 0, 255).astype(np.uint8)


def _paper(S: int, rng: Rng, scenes) -> np.ndarray:
    """Coloured paper or card: a flat colour with fine grain and a soft fold of light."""
    c = _colour(rng, (60, 245))
    grain = rng.normal(0, rng.uniform(2, 7), size=(S, S, 1))
    fold = (_value_noise(S, rng, 3)[..., None] - 0.5) * rng.uniform(10, 35)
    return np.clip(c + grain + fold, 0, 255).astype(np.uint8)


def _scene(S: int, rng: Rng, scenes: Sequence[np.ndarray]) -> np.ndarray:
    """A random crop of a real photograph, scaled to ``S`` and blurred like a shallow depth of field."""
    photo = scenes[int(rng.integers(len(scenes)))]
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.35, 1.0))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(photo[y:y + side, x:x + side]).convert("RGB").resize((S, S), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 4.0))))


_DRAW: dict[str, Callable[[int, Rng, Sequence[np.ndarray]], np.ndarray]] = {
    "plain": _plain, "studio": _studio, "gradient": _gradient, "noise": _noise, "wood": _wood,
    "fabric": _fabric, "tiles": _tiles, "paper": _paper, "scene": _scene,
}

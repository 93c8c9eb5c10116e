"""Drawing the demo catalog's product pictures with Pillow (see :mod:`indexer.demo_catalog`).

A *design* is drawn once, large (``CANVAS`` pixels square), as an RGBA cut-out: the category's
silhouette filled with the pattern, shaded, outlined, with its details (collar, buttons, laces,
soles, handles, hat band). Each *variant* of the design then moves that cut-out slightly
(shift, scale, rotation), shades its colour a little, puts it on a lightly tinted background
with a soft shadow, and shrinks it to the output size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS = 512

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 30, 40),
    "orange": (240, 130, 30),
    "yellow": (245, 205, 45),
    "green": (40, 150, 70),
    "teal": (0, 140, 140),
    "blue": (40, 90, 200),
    "navy": (25, 35, 90),
    "purple": (120, 50, 160),
    "pink": (240, 130, 180),
    "brown": (120, 75, 40),
    "black": (30, 30, 30),
    "white": (245, 245, 245),
    "grey": (140, 140, 140),
    "beige": (215, 195, 160),
}

PATTERNS = ("solid", "stripes", "checks", "dots", "floral")

# category -> its styles; each style has its own silhouette
STYLES: dict[str, tuple[str, ...]] = {
    "t-shirt": ("crew-neck", "v-neck"),
    "shirt": ("long-sleeve", "short-sleeve"),
    "dress": ("a-line", "shift"),
    "trousers": ("trousers", "shorts"),
    "shoes": ("sneaker", "boot"),
    "bag": ("tote", "handbag"),
    "hat": ("cap", "bucket"),
}


@dataclass(frozen=True)
class Design:
    """What every variant of one product design shares."""

    category: str
    style: str
    pattern: str
    colour: str
    secondary: str
    pattern_scale: float  # stripe period, check size, dot spacing, flower size (1.0 = default)
    pattern_angle: int  # stripes: 0 horizontal, 90 vertical, 45 diagonal
    seed: int  # places flowers and leaves


@dataclass(frozen=True)
class Variant:
    """How one variant's picture differs from its design's."""

    dx: float  # shift, as a fraction of the picture's width
    dy: float
    scale: float
    angle: float
    shade: float
    background: tuple[int, int, int]


def render_design(design: Design, size: int = CANVAS // 2) -> Image.Image:
    """The design's RGBA cut-out on a transparent square: drawn at ``CANVAS``, shrunk to ``size``."""
    S = CANVAS
    mask = Image.new("L", (S, S), 0)
    _SILHOUETTES[design.category](ImageDraw.Draw(mask), design.style, 255)
    shaded = _shade(np.asarray(_pattern(design)))
    dark = tuple(int(c * 0.45) for c in COLOURS[design.colour])
    # outline: a ring around the silhouette in a dark shade of the main colour
    grown = mask.filter(ImageFilter.BoxBlur(3)).point(lambda v: 255 if v > 8 else 0)
    out = Image.new("RGBA", (S, S), dark + (255,))
    out.paste(Image.fromarray(shaded), (0, 0), mask)
    out.putalpha(grown)
    _DETAILS[design.category](ImageDraw.Draw(out), design, dark)
    return out.reduce(S // size) if S % size == 0 else out.resize((size, size), Image.Resampling.LANCZOS)


def render_variant(cutout: Image.Image, variant: Variant) -> Image.Image:
    """One variant's RGB picture, the size of the cut-out."""
    S = cutout.width
    # inverse affine map (output -> input) for a rotation + scale about the centre, then a shift
    a = math.radians(variant.angle)
    cos, sin = math.cos(a) / variant.scale, math.sin(a) / variant.scale
    cx, cy = S / 2 + variant.dx * S, S / 2 + variant.dy * S
    coeffs = (cos, sin, S / 2 - cos * cx - sin * cy, -sin, cos, S / 2 + sin * cx - cos * cy)
    moved = cutout.transform((S, S), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
    if variant.shade != 1.0:
        r, g, b, alpha = moved.split()
        lut = [min(255, int(v * variant.shade + 0.5)) for v in range(256)]
        moved = Image.merge("RGBA", (r.point(lut), g.point(lut), b.point(lut), alpha))
    else:
        alpha = moved.getchannel("A")
    canvas = Image.new("RGBA", (S, S), variant.background + (255,))
    # a soft shadow: the silhouette blurred at a quarter of the size, offset down and right
    small = alpha.resize((S // 4, S // 4), Image.Resampling.BILINEAR).filter(ImageFilter.BoxBlur(2))
    shadow = Image.new("RGBA", (S, S), (0, 0, 0, 255))
    shadow.putalpha(small.resize((S, S), Image.Resampling.BILINEAR).point(lambda v: v * 45 // 255))
    canvas.alpha_composite(shadow, (S // 50, S // 36))
    canvas.alpha_composite(moved)
    return canvas.convert("RGB")


# -- patterns ------------------------------------------------------------------------------


_AXIS = np.arange(CANVAS, dtype=np.float32)


@lru_cache(maxsize=1)
def _light() -> np.ndarray:
    """Light from the top left: a gentle gradient gives the flat shapes some volume (x256)."""
    light = 1.10 - 0.18 * _AXIS[:, None] / CANVAS - 0.08 * _AXIS[None, :] / CANVAS
    return np.round(light * 256).astype(np.uint16)[..., None]


def _pattern(design: Design) -> Image.Image:
    """The design's fabric, the size of the canvas. Patterns are built from 1-D masks along
    each axis (cheap), combined by broadcasting."""
    S = CANVAS
    c1 = np.array(COLOURS[design.colour], dtype=np.uint8)
    c2 = np.array(COLOURS[design.secondary], dtype=np.uint8)
    t = _AXIS
    k = design.pattern_scale
    if design.pattern == "solid":
        on = np.zeros((S, S), dtype=bool)
    elif design.pattern == "stripes":
        period = 44 * k
        if design.pattern_angle == 0:
            on = np.broadcast_to(((t % period) < period * 0.42)[:, None], (S, S))
        elif design.pattern_angle == 90:
            on = np.broadcast_to(((t % period) < period * 0.42)[None, :], (S, S))
        else:
            on = ((t[:, None] + t[None, :]) % period) < period * 0.42
    elif design.pattern == "checks":
        size = 40 * k
        half = (t % size) < size / 2
        both = half[:, None] & half[None, :]
        one = half[:, None] ^ half[None, :]
        mix = ((c1.astype(np.uint16) + c2) // 2).astype(np.uint8)
        return Image.fromarray(np.where(both[..., None], c2, np.where(one[..., None], mix, c1)))
    elif design.pattern == "dots":
        spacing = 48 * k
        odd_row = (np.floor(t / spacing) % 2).astype(bool)
        dy2 = ((t % spacing) - spacing / 2) ** 2
        dx2_even = ((t % spacing) - spacing / 2) ** 2
        dx2_odd = (((t + spacing / 2) % spacing) - spacing / 2) ** 2
        dx2 = np.where(odd_row[:, None], dx2_odd[None, :], dx2_even[None, :])
        on = dx2 + dy2[:, None] < (spacing * 0.24) ** 2
    elif design.pattern == "floral":
        return _floral(design, tuple(int(v) for v in c1), tuple(int(v) for v in c2))
    else:
        raise ValueError(f"unknown pattern {design.pattern}")
    return Image.fromarray(np.where(on[..., None], c2, c1))


def _floral(design: Design, ground: tuple[int, ...], flower: tuple[int, ...]) -> Image.Image:
    """A "Hawaiian" print: big five-petal flowers and pointed leaves on a plain ground."""
    S = CANVAS
    rng = np.random.default_rng(design.seed)
    im = Image.new("RGB", (S, S), ground)
    d = ImageDraw.Draw(im)
    leaf = (20, 95, 45) if design.colour not in ("green", "teal") else (230, 225, 170)
    centre = (250, 220, 60) if design.secondary not in ("yellow", "orange", "beige") else (170, 30, 40)
    spacing = 150 * design.pattern_scale
    n = int(S / spacing) + 2
    for gy in range(n):
        for gx in range(n):
            px = (gx + 0.5 * (gy % 2)) * spacing + rng.uniform(-20, 20)
            py = gy * spacing + rng.uniform(-20, 20)
            for _ in range(2):  # leaves behind the flower
                ang = rng.uniform(0, 2 * math.pi)
                length = spacing * rng.uniform(0.55, 0.75)
                lx, ly = px + math.cos(ang) * length * 0.6, py + math.sin(ang) * length * 0.6
                d.polygon(_leaf(lx, ly, length, length * 0.32, ang), fill=leaf)
            r = spacing * rng.uniform(0.24, 0.30)
            turn = rng.uniform(0, 2 * math.pi)
            for p in range(5):
                a = turn + p * 2 * math.pi / 5
                ex, ey = px + math.cos(a) * r * 0.75, py + math.sin(a) * r * 0.75
                d.ellipse((ex - r * 0.62, ey - r * 0.62, ex + r * 0.62, ey + r * 0.62), fill=flower)
            d.ellipse((px - r * 0.28, py - r * 0.28, px + r * 0.28, py + r * 0.28), fill=centre)
    return im


def _leaf(cx: float, cy: float, length: float, width: float, angle: float) -> list[tuple[float, float]]:
    pts = []
    for side in (1, -1):
        for i in range(9):
            t = i / 8 if side == 1 else 1 - i / 8
            u, v = length * (t - 0.5), side * width * 0.5 * math.sin(math.pi * t)
            pts.append((cx + u * math.cos(angle) - v * math.sin(angle), cy + u * math.sin(angle) + v * math.cos(angle)))
    return pts


def _shade(rgb: np.ndarray) -> np.ndarray:
    return np.minimum((rgb.astype(np.uint32) * _light()) >> 8, 255).astype(np.uint8)


# -- silhouettes (drawn on the mask) --------------------------------------------------------


def _tshirt(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    d.polygon([(206, 82), (150, 96), (70, 170), (110, 228), (162, 196), (164, 440), (348, 440),
               (350, 196), (402, 228), (442, 170), (362, 96), (306, 82)], fill=v)
    if style == "v-neck":
        d.polygon([(210, 80), (302, 80), (256, 150)], fill=0)
    else:
        d.ellipse((206, 52, 306, 116), fill=0)


def _shirt(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    if style == "long-sleeve":
        d.polygon([(210, 78), (150, 92), (96, 150), (62, 400), (110, 412), (150, 230), (162, 240),
                   (164, 446), (348, 446), (350, 240), (362, 230), (402, 412), (450, 400), (416, 150),
                   (362, 92), (302, 78)], fill=v)
    else:
        d.polygon([(210, 78), (150, 92), (84, 160), (120, 214), (162, 190), (164, 446), (348, 446),
                   (350, 190), (392, 214), (428, 160), (362, 92), (302, 78)], fill=v)
    d.polygon([(210, 78), (256, 128), (302, 78), (256, 92)], fill=0)


def _dress(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    if style == "a-line":
        d.rectangle((204, 56, 222, 100), fill=v)
        d.rectangle((290, 56, 308, 100), fill=v)
        d.polygon([(196, 96), (316, 96), (304, 236), (396, 462), (116, 462), (208, 236)], fill=v)
        d.ellipse((222, 70, 290, 124), fill=0)
    else:
        d.polygon([(214, 70), (168, 84), (128, 140), (156, 168), (186, 140), (192, 240), (176, 462),
                   (336, 462), (320, 240), (326, 140), (356, 168), (384, 140), (344, 84), (298, 70)], fill=v)
        d.ellipse((214, 44, 298, 110), fill=0)


def _trousers(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    bottom, flare = (462, 6) if style == "trousers" else (270, 26)
    d.rectangle((168, 62, 344, 96), fill=v)
    d.polygon([(168, 96), (256, 96), (256, 170), (244, 170), (238 + flare // 2, bottom),
               (150 - flare, bottom), (164, 96)], fill=v)
    d.polygon([(256, 96), (344, 96), (348, 96), (362 + flare, bottom), (274 - flare // 2, bottom),
               (268, 170), (256, 170)], fill=v)


def _shoes(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    if style == "boot":
        d.polygon([(150, 110), (262, 110), (268, 250), (330, 262), (420, 300), (432, 340), (112, 340),
                   (126, 250)], fill=v)
    else:
        d.polygon([(104, 250), (118, 214), (172, 196), (222, 220), (262, 200), (330, 250), (410, 280),
                   (440, 316), (436, 340), (98, 340)], fill=v)
    d.rounded_rectangle((92, 326, 446, 362), radius=14, fill=v)


def _bag(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    if style == "tote":
        d.polygon([(136, 196), (376, 196), (404, 446), (108, 446)], fill=v)
        d.arc((168, 84, 344, 300), 180, 360, fill=v, width=22)
    else:
        d.rounded_rectangle((112, 210, 400, 430), radius=40, fill=v)
        d.arc((186, 110, 326, 300), 180, 360, fill=v, width=20)


def _hat(d: ImageDraw.ImageDraw, style: str, v: int) -> None:
    if style == "cap":
        d.pieslice((128, 150, 372, 400), 180, 360, fill=v)
        d.polygon([(300, 262), (372, 266), (452, 290), (448, 308), (360, 296), (296, 292)], fill=v)
        d.rectangle((128, 262, 372, 292), fill=v)
        d.ellipse((238, 136, 262, 160), fill=v)
    else:
        d.rounded_rectangle((176, 150, 336, 320), radius=50, fill=v)
        d.ellipse((84, 286, 428, 352), fill=v)


_SILHOUETTES = {"t-shirt": _tshirt, "shirt": _shirt, "dress": _dress, "trousers": _trousers,
                "shoes": _shoes, "bag": _bag, "hat": _hat}


# -- details (drawn on the coloured cut-out) --------------------------------------------------


def _no_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    pass


def _tshirt_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    if design.style == "v-neck":
        d.line([(210, 80), (256, 150), (302, 80)], fill=dark, width=7)
    else:
        d.arc((206, 52, 306, 116), 0, 180, fill=dark, width=7)
    d.line([(150, 96), (162, 196)], fill=dark, width=3)
    d.line([(362, 96), (350, 196)], fill=dark, width=3)


def _shirt_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    collar = tuple(min(255, int(c * 1.15) + 20) for c in COLOURS[design.colour])
    d.polygon([(206, 74), (256, 128), (232, 142), (190, 96)], fill=collar, outline=dark, width=3)
    d.polygon([(306, 74), (256, 128), (280, 142), (322, 96)], fill=collar, outline=dark, width=3)
    d.line([(256, 128), (256, 444)], fill=dark, width=3)
    for y in range(160, 440, 52):
        d.ellipse((249, y - 7, 263, y + 7), fill=(235, 235, 225), outline=dark)
    if design.style == "long-sleeve":
        d.line([(66, 380), (114, 392)], fill=dark, width=4)
        d.line([(446, 380), (398, 392)], fill=dark, width=4)


def _dress_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    y = 236 if design.style == "a-line" else 240
    d.line([(200, y), (312, y)], fill=dark, width=8)


def _trousers_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    d.line([(168, 96), (344, 96)], fill=dark, width=4)
    d.line([(256, 96), (256, 170)], fill=dark, width=3)
    for x in (190, 230, 282, 322):
        d.rectangle((x - 3, 62, x + 3, 96), fill=dark)


def _shoes_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    sole = (240, 240, 235) if sum(COLOURS[design.colour]) < 500 else (45, 40, 40)
    d.rounded_rectangle((92, 326, 446, 362), radius=14, fill=sole, outline=dark, width=3)
    if design.style == "boot":
        for i in range(5):
            y = 140 + i * 26
            d.line([(236, y), (264, y + 10)], fill=(240, 240, 235), width=5)
    else:
        for i in range(4):
            x = 236 + i * 22
            d.line([(x, 212 + i * 10), (x + 26, 226 + i * 10)], fill=(240, 240, 235), width=5)
        d.line([(104, 300), (436, 306)], fill=dark, width=3)


def _bag_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    if design.style == "tote":
        d.line([(130, 226), (382, 226)], fill=dark, width=3)
    else:
        d.polygon([(112, 250), (400, 250), (400, 300), (256, 340), (112, 300)], fill=dark)
        d.ellipse((242, 318, 270, 346), fill=(215, 180, 60))


def _hat_details(d: ImageDraw.ImageDraw, design: Design, dark: tuple) -> None:
    if design.style == "cap":
        d.line([(250, 150), (250, 262)], fill=dark, width=3)
        d.line([(128, 276), (372, 276)], fill=dark, width=3)
    else:
        band = COLOURS[design.secondary] if design.pattern == "solid" else dark
        d.rectangle((178, 270, 334, 298), fill=band)


_DETAILS = {"t-shirt": _tshirt_details, "shirt": _shirt_details, "dress": _dress_details,
            "trousers": _trousers_details, "shoes": _shoes_details, "bag": _bag_details,
            "hat": _hat_details}

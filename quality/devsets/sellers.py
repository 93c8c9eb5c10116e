"""Sellers, and how each one photographs a product.

A :class:`Seller` is a *style*: ranges and probabilities, not one fixed transform. Every
picture draws its own values from those ranges with its own seeded generator, so two pictures
by one seller differ too, and the sellers differ in what they tend to do. :func:`photograph`
applies, in this order:

1. **background**: plain colour, studio sweep, gradient, texture (stone/noise, wood, fabric,
   tiles, paper) or a blurred scene from a real photograph (:mod:`quality.devsets.backgrounds`);
2. **scale and position**: the product fills 35-100% of the frame, off centre, sometimes cut
   by the frame's edge;
3. **rotation, mirror and perspective**: an in-plane turn, a left-right mirror for some
   sellers, and a projective warp (the four corners moved independently: a camera not
   square to the product);
4. **shadow**: the silhouette, blurred, offset and darkened under the product;
5. **partial occlusion**: a thumb, a price sticker, a hanger tag or a patch of clutter over
   part of the product;
6. **lighting and colour cast**: exposure gain, gamma, contrast, a light gradient or a
   vignette across the frame, white balance off towards warm, cool, green or magenta;
7. **watermark text**: the shop's name, a URL or "SALE", semi-transparent, once or tiled;
8. **sensor noise and blur**;
9. **low resolution**: the output size differs per picture (64-320 px), and some pictures are
   shrunk further and blown up again (a thumbnail re-used as the product shot);
10. **JPEG artefacts**: quality from 12 to 95, sometimes compressed twice.

The caller hands in the product as an RGBA cut-out (alpha = the product's shape); a
rectangular photograph is a cut-out with a full alpha.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from quality.devsets.backgrounds import background

WORK = 320  # the working canvas, in pixels; the output is then resized


@dataclass(frozen=True)
class Seller:
    """One seller's habits. Ranges are (low, high); probabilities are per picture."""

    name: str
    backgrounds: dict[str, float]  # kind -> weight
    scale: tuple[float, float]  # the product's longest side, as a fraction of the frame
    offset: float  # largest shift of the centre, as a fraction of the frame
    angle: float  # largest in-plane turn, degrees
    perspective: float  # largest corner displacement, as a fraction of the frame
    mirror_p: float
    shadow_p: float
    occlusion_p: float
    occlusion_size: tuple[float, float]  # occluder's size, as a fraction of the product
    gain: tuple[float, float]
    gamma: tuple[float, float]
    cast: float  # largest white-balance error per channel (0.1 = +-10%)
    uneven_light_p: float
    watermark_p: float
    tiled_watermark_p: float
    noise: tuple[float, float]  # sensor noise sigma, grey levels
    blur: tuple[float, float]  # Gaussian blur radius, pixels of the working canvas
    sizes: tuple[int, ...]  # output sizes to choose from
    lowres_p: float  # shrink to 40-90 px and enlarge again
    jpeg: tuple[int, int]
    double_jpeg_p: float


SELLERS: tuple[Seller, ...] = (
    Seller("studio", {"studio": 5, "plain": 2, "gradient": 1}, scale=(0.7, 0.95), offset=0.06, angle=6,
           perspective=0.03, mirror_p=0.0, shadow_p=0.7, occlusion_p=0.05, occlusion_size=(0.1, 0.2),
           gain=(0.95, 1.15), gamma=(0.9, 1.1), cast=0.04, uneven_light_p=0.2, watermark_p=0.15,
           tiled_watermark_p=0.0, noise=(0, 2), blur=(0, 0.4), sizes=(256, 320), lowres_p=0.0,
           jpeg=(80, 95), double_jpeg_p=0.0),
    Seller("marketplace", {"plain": 3, "paper": 3, "gradient": 2, "tiles": 1, "fabric": 1}, scale=(0.5, 0.9),
           offset=0.14, angle=20, perspective=0.08, mirror_p=0.2, shadow_p=0.4, occlusion_p=0.25,
           occlusion_size=(0.12, 0.3), gain=(0.85, 1.2), gamma=(0.8, 1.25), cast=0.1, uneven_light_p=0.4,
           watermark_p=0.8, tiled_watermark_p=0.5, noise=(1, 5), blur=(0, 0.8), sizes=(160, 200, 256),
           lowres_p=0.15, jpeg=(35, 75), double_jpeg_p=0.3),
    Seller("lifestyle", {"scene": 5, "wood": 2, "fabric": 2, "noise": 1}, scale=(0.35, 0.75), offset=0.22,
           angle=30, perspective=0.14, mirror_p=0.3, shadow_p=0.8, occlusion_p=0.35, occlusion_size=(0.15, 0.35),
           gain=(0.7, 1.25), gamma=(0.75, 1.3), cast=0.16, uneven_light_p=0.7, watermark_p=0.3,
           tiled_watermark_p=0.1, noise=(1, 6), blur=(0, 1.2), sizes=(200, 256, 320), lowres_p=0.1,
           jpeg=(50, 90), double_jpeg_p=0.2),
    Seller("phone", {"wood": 2, "noise": 2, "fabric": 2, "tiles": 2, "scene": 2, "paper": 1}, scale=(0.45, 1.0),
           offset=0.2, angle=45, perspective=0.2, mirror_p=0.15, shadow_p=0.6, occlusion_p=0.5,
           occlusion_size=(0.15, 0.4), gain=(0.6, 1.3), gamma=(0.7, 1.4), cast=0.2, uneven_light_p=0.9,
           watermark_p=0.2, tiled_watermark_p=0.2, noise=(3, 12), blur=(0.3, 2.0), sizes=(64, 96, 128, 160),
           lowres_p=0.4, jpeg=(12, 55), double_jpeg_p=0.4),
    Seller("outlet", {"tiles": 2, "gradient": 2, "plain": 2, "scene": 1, "noise": 1}, scale=(0.4, 0.85),
           offset=0.18, angle=15, perspective=0.1, mirror_p=0.5, shadow_p=0.3, occlusion_p=0.4,
           occlusion_size=(0.1, 0.3), gain=(0.75, 1.3), gamma=(0.8, 1.3), cast=0.14, uneven_light_p=0.5,
           watermark_p=0.95, tiled_watermark_p=0.6, noise=(1, 8), blur=(0, 1.0), sizes=(96, 128, 200),
           lowres_p=0.3, jpeg=(20, 60), double_jpeg_p=0.5),
    Seller("catalogue-scan", {"paper": 4, "plain": 1, "fabric": 1}, scale=(0.55, 0.9), offset=0.12, angle=10,
           perspective=0.12, mirror_p=0.0, shadow_p=0.2, occlusion_p=0.2, occlusion_size=(0.1, 0.25),
           gain=(0.8, 1.1), gamma=(1.0, 1.5), cast=0.18, uneven_light_p=0.8, watermark_p=0.4,
           tiled_watermark_p=0.0, noise=(2, 6), blur=(0.5, 1.5), sizes=(128, 200, 256), lowres_p=0.2,
           jpeg=(30, 70), double_jpeg_p=0.3),
)
MAX_SELLERS = len(SELLERS)

WATERMARKS = ("{shop}", "(c) {shop}", "www.{shop}.example", "SALE", "-30%", "{shop} official", "NEW", "SAMPLE")
SKIN = ((224, 172, 140), (198, 134, 98), (141, 85, 54), (241, 194, 160))


@dataclass(frozen=True)
class Photo:
    """One seller's picture: the JPEG file's bytes, and what was drawn (for analysis)."""

    jpeg: bytes
    background: str
    size: int


def photograph(cutout: Image.Image, seller: Seller, rng: np.random.Generator,
               scenes: Sequence[np.ndarray] = ()) -> Photo:
    """``seller``'s picture of the product ``cutout`` (RGBA)."""
    S = WORK
    kinds = list(seller.backgrounds)
    weights = np.array([seller.backgrounds[k] for k in kinds], dtype=float)
    kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    canvas = Image.fromarray(background(kind, S, rng, scenes)).convert("RGBA")

    product = _place(cutout, seller, rng, S)
    alpha = product.getchannel("A")
    if rng.random() < seller.shadow_p:
        canvas.alpha_composite(_shadow(alpha, rng, S))
    canvas.alpha_composite(product)
    if rng.random() < seller.occlusion_p:
        _occlude(canvas, alpha, seller, rng)
    rgb = _light(np.asarray(canvas.convert("RGB"), dtype=np.float32), seller, rng)
    image = Image.fromarray(rgb)
    if rng.random() < seller.watermark_p:
        image = _watermark(image, seller, rng)
    image = _degrade(image, seller, rng)
    return Photo(jpeg=_jpeg(image, seller, rng), background=kind, size=image.width)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _place(cutout: Image.Image, seller: Seller, rng: np.random.Generator, S: int) -> Image.Image:
    """The cut-out scaled, turned, mirrored and warped onto a transparent ``S x S`` frame."""
    obj = cutout
    box = obj.getchannel("A").getbbox() or (0, 0, obj.width, obj.height)
    obj = obj.crop(box)
    if rng.random() < seller.mirror_p:
        obj = obj.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scale = _uniform(rng, seller.scale) * S / max(obj.size)
    w, h = max(2, round(obj.width * scale)), max(2, round(obj.height * scale))
    obj = obj.resize((w, h), Image.Resampling.LANCZOS)
    obj = obj.rotate(_uniform(rng, (-seller.angle, seller.angle)), resample=Image.Resampling.BICUBIC, expand=True)
    frame = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    cx = S / 2 + _uniform(rng, (-seller.offset, seller.offset)) * S
    cy = S / 2 + _uniform(rng, (-seller.offset, seller.offset)) * S
    # the frame is empty, so a plain paste copies the product's alpha as it is, and it also
    # takes a negative position: a product cut by the frame's edge
    frame.paste(obj, (int(round(cx - obj.width / 2)), int(round(cy - obj.height / 2))))
    if seller.perspective > 0:
        frame = _perspective(frame, rng, seller.perspective)
    return frame


def _perspective(frame: Image.Image, rng: np.random.Generator, amount: float) -> Image.Image:
    """A projective warp: each corner of the frame moves by up to ``amount`` of its side."""
    S = frame.width
    src = np.array([(0, 0), (S, 0), (S, S), (0, S)], dtype=float)
    dst = src + rng.uniform(-amount, amount, size=(4, 2)) * S
    # PIL maps output -> input: solve for the homography that takes dst to src
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y]); rhs.append(v)
    coeffs = np.linalg.solve(np.array(rows), np.array(rhs))
    return frame.transform((S, S), Image.Transform.PERSPECTIVE, tuple(coeffs), resample=Image.Resampling.BICUBIC)


def _shadow(alpha: Image.Image, rng: np.random.Generator, S: int) -> Image.Image:
    dx, dy = int(rng.integers(-S // 25, S // 12)), int(rng.integers(0, S // 10))
    strength = _uniform(rng, (0.2, 0.6))
    blurred = alpha.filter(ImageFilter.GaussianBlur(_uniform(rng, (2, 12))))
    shifted = Image.new("L", (S, S), 0)
    shifted.paste(blurred, (dx, dy))
    shadow = Image.new("RGBA", (S, S), (0, 0, 0, 255))
    shadow.putalpha(shifted.point(lambda v: int(v * strength)))
    return shadow


def _occlude(canvas: Image.Image, alpha: Image.Image, seller: Seller, rng: np.random.Generator) -> None:
    """Cover part of the product: a thumb, a price sticker, a tag, or clutter."""
    box = alpha.getbbox()
    if box is None:
        return
    x0, y0, x1, y1 = box
    size = _uniform(rng, seller.occlusion_size) * max(x1 - x0, y1 - y0)
    cx, cy = _uniform(rng, (x0, x1)), _uniform(rng, (y0, y1))
    d = ImageDraw.Draw(canvas)
    kind = int(rng.integers(4))
    if kind == 0:  # a thumb coming in from the nearest edge
        colour = SKIN[int(rng.integers(len(SKIN)))]
        w, h = size * 0.55, size * 1.3
        d.ellipse((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), fill=colour + (255,))
        d.rectangle((cx - w / 2, cy, cx + w / 2, canvas.height), fill=colour + (255,))
    elif kind == 1:  # a round price sticker
        colour = tuple(int(v) for v in rng.choice([(230, 30, 30), (250, 210, 0), (255, 255, 255), (20, 120, 220)]))
        r = size / 2
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour + (255,), outline=(40, 40, 40, 255))
        d.text((cx, cy), str(int(rng.integers(5, 99))), fill=(0, 0, 0, 255), anchor="mm", font=_font(max(8, int(r * 0.8))))
    elif kind == 2:  # a paper hang tag on a string
        w, h = size * 0.45, size * 0.7
        d.line((cx, cy - h, cx + _uniform(rng, (-size, size)), cy - h * 2), fill=(60, 60, 60, 255), width=2)
        d.rectangle((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), fill=(245, 240, 225, 255), outline=(90, 90, 90, 255))
    else:  # clutter: a blob of another colour
        colour = tuple(int(v) for v in rng.uniform(0, 255, size=3))
        pts = [(cx + math.cos(a) * size * _uniform(rng, (0.3, 0.6)), cy + math.sin(a) * size * _uniform(rng, (0.3, 0.6)))
               for a in np.linspace(0, 2 * math.pi, 9)[:-1]]
        d.polygon(pts, fill=colour + (255,))


def _light(rgb: np.ndarray, seller: Seller, rng: np.random.Generator) -> np.ndarray:
    """Exposure, gamma, uneven light, white balance."""
    S = rgb.shape[0]
    x = rgb / 255.0
    x = x ** _uniform(rng, seller.gamma)
    contrast = _uniform(rng, (0.8, 1.2))
    x = (x - 0.5) * contrast + 0.5
    x = x * _uniform(rng, seller.gain)
    if rng.random() < seller.uneven_light_p:
        t = np.linspace(-1, 1, S, dtype=np.float32)
        if rng.random() < 0.5:  # light from one side
            a = rng.uniform(0, 2 * math.pi)
            field = 1 + _uniform(rng, (0.15, 0.45)) * (math.cos(a) * t[None, :] + math.sin(a) * t[:, None]) / 2
        else:  # a vignette
            field = 1 - _uniform(rng, (0.15, 0.5)) * (t[None, :] ** 2 + t[:, None] ** 2) / 2
        x = x * field[..., None]
    cast = 1 + rng.uniform(-seller.cast, seller.cast, size=3)
    x = x * cast
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


def _watermark(image: Image.Image, seller: Seller, rng: np.random.Generator) -> Image.Image:
    S = image.width
    text = WATERMARKS[int(rng.integers(len(WATERMARKS)))].format(shop=seller.name.replace("-", ""))
    layer = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    shade = 255 if rng.random() < 0.6 else 0
    opacity = int(rng.integers(70, 190))
    font = _font(int(rng.integers(S // 18, S // 7)))
    if rng.random() < seller.tiled_watermark_p:
        step = int(rng.integers(S // 5, S // 3))
        for y in range(-step, S + step, step):
            for x in range(-step, S + step, step * 2):
                d.text((x + (y // step % 2) * step, y), text, fill=(shade, shade, shade, opacity), font=font)
        layer = layer.rotate(_uniform(rng, (-35, 35)), resample=Image.Resampling.BICUBIC)
    else:
        x, y = int(rng.integers(0, S * 3 // 4)), int(rng.integers(0, S * 7 // 8))
        d.text((x, y), text, fill=(shade, shade, shade, opacity), font=font,
               stroke_width=1, stroke_fill=(255 - shade, 255 - shade, 255 - shade, opacity // 2))
    out = image.convert("RGBA")
    out.alpha_composite(layer)
    return out.convert("RGB")


def _degrade(image: Image.Image, seller: Seller, rng: np.random.Generator) -> Image.Image:
    """Blur, sensor noise, the output size, and for some pictures a round trip through a thumbnail."""
    radius = _uniform(rng, seller.blur)
    if radius > 0.05:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    sigma = _uniform(rng, seller.noise)
    if sigma > 0.1:
        arr = np.asarray(image, dtype=np.float32) + rng.normal(0, sigma, size=(image.height, image.width, 1))
        image = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    size = int(seller.sizes[int(rng.integers(len(seller.sizes)))])
    if rng.random() < seller.lowres_p:
        tiny = int(rng.integers(40, 91))
        image = image.resize((tiny, tiny), Image.Resampling.BILINEAR)
        image = image.resize((size, size), Image.Resampling.NEAREST if rng.random() < 0.3 else Image.Resampling.BICUBIC)
    else:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def _jpeg(image: Image.Image, seller: Seller, rng: np.random.Generator) -> bytes:
    if rng.random() < seller.double_jpeg_p:
        first = io.BytesIO()
        image.save(first, "JPEG", quality=int(rng.integers(30, 80)))
        image = Image.open(io.BytesIO(first.getvalue())).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=int(rng.integers(seller.jpeg[0], seller.jpeg[1] + 1)))
    return buf.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, size))

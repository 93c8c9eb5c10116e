"""A demo catalog that works offline: product pictures drawn with Pillow, seeded and repeatable.

``generate(out_dir, count=2000, seed=0)`` writes ``out_dir/catalog.jsonl`` and
``out_dir/images/<id>.jpg`` and returns the catalog's path. The same seed gives the same
catalog and byte-identical images.

The catalog is made of *designs*: a category (t-shirt, shirt, dress, trousers, shoes, bag,
hat) in one of its two styles (crew-neck or v-neck, sneaker or boot ...), a pattern (solid,
stripes, checks, dots, or a floral "Hawaiian" print) and a palette (a main and a second named
colour). No two designs share category, style, pattern and main colour while the catalog has
room for that (about 980 designs, i.e. ~4,400 products); beyond it they differ at least in
their second colour. Each design has 3 to 6 *variants* (products) sharing its ``group``:
the same drawing shifted, scaled and turned a little, its colour a shade lighter or darker,
on a slightly different background, in another size. Variants of one design are the ground
truth for "similar" in tests.

With ``images=2`` or ``3`` each product has more pictures (``images`` in the catalog, the main
one first): a *back* view (the drawing mirrored, on its own background, turned a little) and a
*detail* (the middle of the front picture, enlarged), as ``<id>-back.jpg`` and
``<id>-detail.jpg``. They are drawn from a random stream of their own, so the main pictures stay
byte-identical to a one-image catalog of the same seed.

Attributes: ``category``, ``style``, ``color``, ``secondary_color``, ``pattern``, ``brand``,
``material``, ``size`` (strings), ``rating`` (a float), ``tags`` (a list of strings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.catalog import Product
from indexer.catalog_files import draw_all, write_catalog
from indexer.demo_drawing import COLOURS, PATTERNS, STYLES, Design, Variant, render_design, render_variant

IMAGE_SIZE = 256
JPEG_QUALITY = 90
MIN_VARIANTS, MAX_VARIANTS = 3, 6

BRANDS = ("Acme", "Northwind", "Tropico", "Bellweather", "Fjord & Co", "Kestrel", "Maple Lane", "Orbit")
MATERIALS = {
    "t-shirt": ("cotton", "organic cotton", "jersey"),
    "shirt": ("cotton", "linen", "poplin"),
    "dress": ("viscose", "cotton", "silk"),
    "trousers": ("denim", "cotton", "wool"),
    "shoes": ("leather", "canvas", "suede"),
    "bag": ("leather", "canvas", "nylon"),
    "hat": ("wool", "cotton", "straw"),
}
PRICES = {  # category -> (lowest, highest) base price
    "t-shirt": (9, 35), "shirt": (25, 80), "dress": (30, 150), "trousers": (30, 110),
    "shoes": (40, 180), "bag": (25, 250), "hat": (12, 60),
}
SIZES = {
    "t-shirt": ("XS", "S", "M", "L", "XL", "XXL"), "shirt": ("XS", "S", "M", "L", "XL", "XXL"),
    "dress": ("XS", "S", "M", "L", "XL", "XXL"), "trousers": ("XS", "S", "M", "L", "XL", "XXL"),
    "shoes": ("37", "38", "39", "40", "41", "42", "43", "44"), "bag": ("one size",),
    "hat": ("S", "M", "L", "XL"),
}
PATTERN_WORDS = {"solid": "", "stripes": "striped", "checks": "checked", "dots": "polka-dot",
                 "floral": "Hawaiian floral"}
NOUNS = {"t-shirt": "t-shirt", "shirt": "shirt", "dress": "dress", "trousers": "trousers",
         "shoes": "shoes", "bag": "bag", "hat": "hat"}
STYLE_NOUNS = {"shorts": "shorts", "sneaker": "sneakers", "boot": "boots", "tote": "tote bag",
               "handbag": "handbag", "cap": "cap", "bucket": "bucket hat", "trousers": "trousers"}
SEASONS = {"floral": "summer", "dots": "spring", "checks": "autumn", "stripes": "summer", "solid": "all-season"}


@dataclass(frozen=True)
class DesignSpec:
    """A design and what its variants share in the catalog."""

    index: int
    design: Design
    brand: str
    material: str
    price: float
    rating: float
    variants: int

    @property
    def group(self) -> str:
        return f"design-{self.index:04d}"

    def title(self) -> str:
        d = self.design
        noun = STYLE_NOUNS.get(d.style) or f"{d.style} {NOUNS[d.category]}"
        words = [d.colour.capitalize(), PATTERN_WORDS[d.pattern], noun]
        return " ".join(w for w in words if w) + f" by {self.brand}"


EXTRA_VIEWS = ("back", "detail")


def generate(out_dir: Path | str, count: int = 2000, seed: int = 0, *, workers: int | None = None,
             images: int = 1) -> Path:
    """Write ``count`` products (catalog + JPEG images, ``images`` pictures each, 1 to 3) into
    ``out_dir``; returns the catalog path."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if not 1 <= images <= 1 + len(EXTRA_VIEWS):
        raise ValueError(f"images must be 1 to {1 + len(EXTRA_VIEWS)}, got {images}")
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    specs = plan(count, seed)
    jobs = [(spec, seed, str(out / "images"), images) for spec in specs]
    per_design = draw_all(_render_spec, jobs, workers=workers, name="demo-draw")
    return write_catalog(out, (p.to_json() for products in per_design for p in products), images_glob="demo-*.jpg")


def plan(count: int, seed: int) -> list[DesignSpec]:
    """The designs of a catalog of ``count`` products, and how many variants each has."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < count:
        k = min(int(rng.integers(MIN_VARIANTS, MAX_VARIANTS + 1)), count - sum(sizes))
        if k < 2 and sizes:
            sizes[-1] += k
        else:
            sizes.append(k)
    categories = list(STYLES)
    colours = list(COLOURS)
    taken: set[tuple] = set()
    specs = []
    for i, n in enumerate(sizes):
        category = categories[i % len(categories)]
        pattern = PATTERNS[(i // len(categories)) % len(PATTERNS)]
        for attempt in range(200):
            style = STYLES[category][int(rng.integers(len(STYLES[category])))]
            colour = colours[int(rng.integers(len(colours)))]
            secondary = _second_colour(rng, colour)
            key = (category, style, pattern, colour) if attempt < 100 else (category, style, pattern, colour, secondary)
            if key not in taken:
                break
        taken.add(key)
        design = Design(
            category=category, style=style, pattern=pattern, colour=colour, secondary=secondary,
            pattern_scale=float(rng.choice([0.8, 1.0, 1.25])),
            pattern_angle=int(rng.choice([0, 90, 45])),
            seed=int(rng.integers(2**31)),
        )
        low, high = PRICES[category]
        price = round(float(rng.uniform(low, high))) - 0.01
        specs.append(DesignSpec(
            index=i, design=design, brand=str(rng.choice(BRANDS)),
            material=str(rng.choice(MATERIALS[category])), price=price,
            rating=round(float(rng.uniform(2.5, 5.0)), 1), variants=n,
        ))
    return specs


def variants(spec: DesignSpec, seed: int) -> Iterator[tuple[Product, Variant]]:
    """The products of one design, with how each one's picture is drawn."""
    rng = np.random.default_rng([seed, spec.index, 1])
    d = spec.design
    sizes = SIZES[d.category]
    start = int(rng.integers(0, max(1, len(sizes) - spec.variants + 1)))
    tags = [SEASONS[d.pattern], "casual" if d.pattern in ("floral", "dots") else "everyday", d.category]
    for v in range(spec.variants):
        pid = f"demo-{spec.index:04d}-{v + 1}"
        tint = rng.integers(-5, 6, size=3)
        base = int(rng.integers(240, 251))
        variant = Variant(
            dx=float(rng.uniform(-0.027, 0.027)), dy=float(rng.uniform(-0.023, 0.023)),
            scale=float(rng.uniform(0.94, 1.04)), angle=float(rng.uniform(-4, 4)),
            shade=float(rng.uniform(0.93, 1.07)),
            background=tuple(int(np.clip(base + t, 0, 255)) for t in tint),
        )
        size = sizes[(start + v) % len(sizes)]
        attributes = {
            "category": d.category, "style": d.style, "color": d.colour, "pattern": d.pattern,
            "brand": spec.brand, "material": spec.material, "size": size, "rating": spec.rating,
            "tags": tags,
        }
        if d.pattern != "solid":
            attributes["secondary_color"] = d.secondary
        product = Product(
            id=pid, image=f"images/{pid}.jpg", title=spec.title(), group=spec.group,
            price=spec.price + (5.0 if size in ("XL", "XXL", "44") else 0.0),
            in_stock=bool(rng.random() > 0.15), attributes=attributes,
        )
        yield product, variant


def _render_spec(job: tuple[DesignSpec, int, str, int]) -> list[Product]:
    spec, seed, image_dir, count = job
    cutout = render_design(spec.design, IMAGE_SIZE)
    products = []
    extra_rng = np.random.default_rng([seed, spec.index, 2])  # the main pictures' stream stays as it is
    for product, variant in variants(spec, seed):
        picture = render_variant(cutout, variant)
        picture.save(Path(image_dir) / f"{product.id}.jpg", "JPEG", quality=JPEG_QUALITY)
        views = EXTRA_VIEWS[: count - 1]
        for view in views:
            _extra_view(view, cutout, picture, variant, extra_rng).save(
                Path(image_dir) / f"{product.id}-{view}.jpg", "JPEG", quality=JPEG_QUALITY)
        if views:
            product = replace(product, images=(product.image, *(f"images/{product.id}-{v}.jpg" for v in views)))
        products.append(product)
    return products


def _extra_view(view: str, cutout: Image.Image, picture: Image.Image, variant: Variant,
                rng: np.random.Generator) -> Image.Image:
    """The back (mirrored drawing, another background and turn) or the detail (the middle, enlarged)."""
    if view == "back":
        base = int(rng.integers(225, 246))
        back = replace(variant, angle=float(rng.uniform(-6, 6)), shade=variant.shade * float(rng.uniform(0.9, 1.0)),
                       background=(base, base - int(rng.integers(0, 8)), base - int(rng.integers(0, 12))))
        return render_variant(cutout.transpose(Image.Transpose.FLIP_LEFT_RIGHT), back)
    s = picture.width
    box = (s // 4, s // 4, s - s // 4, s - s // 4)
    return picture.crop(box).resize((s, s), Image.Resampling.BICUBIC)


def _second_colour(rng: np.random.Generator, colour: str) -> str:
    """A second colour that stands out against the main one."""
    main = np.array(COLOURS[colour])
    far = [name for name, rgb in COLOURS.items() if np.abs(main - rgb).sum() > 220]
    return str(rng.choice(far))

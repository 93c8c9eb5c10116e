"""Importing the "Fashion Product Images" layout (Kaggle, Param Aggarwal) into our catalog.

The layout is a folder holding ``styles.csv``::

    id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName
    15970,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt

and ``images/<id>.jpg``. Each row becomes a :class:`~indexer.catalog.Product`: ``id``; image
``images/<id>.jpg``; ``title`` from ``productDisplayName``; every other column an attribute
named in snake_case (``masterCategory`` -> ``master_category``), ``year`` as an integer. Empty
cells are left out. The layout has no price, stock or variant group.

Rejected rows, each reported with its line number (the header is line 1): a row with more or
fewer cells than the header (the published file has a few product names with an unquoted
comma; they are reported, not guessed at), a row whose image file is missing, a ``year`` that
is not a whole number, a repeated id, and whatever the catalog rules reject
(:mod:`indexer.catalog`). A file without ``id`` and ``productDisplayName`` columns is refused
as a whole.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from lookalike.errors import BadRequest

from indexer.catalog import CatalogError, Product, parse_product
from indexer.report import ErrorReport

STYLES_FILE = "styles.csv"
IMAGE_DIR = "images"
REQUIRED_COLUMNS = ("id", "productDisplayName")
INTEGER_COLUMNS = ("year",)


def snake_case(name: str) -> str:
    """``masterCategory`` -> ``master_category``; ``Base Colour`` -> ``base_colour``."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def read_fashion(folder: Path | str) -> Iterator[Product | CatalogError]:
    """The rows of ``folder/styles.csv`` as products (images relative to ``folder``) or errors."""
    folder = Path(folder)
    styles = folder / STYLES_FILE
    try:
        f = styles.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise BadRequest(f"cannot read {styles}: {err.strerror or err}") from err
    with f:
        yield from _rows(csv.reader(f), folder)


def _rows(reader, folder: Path) -> Iterator[Product | CatalogError]:
    try:
        header = next(reader)
    except StopIteration:
        raise BadRequest(f"{folder / STYLES_FILE} is empty") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadRequest(f"{folder / STYLES_FILE} lacks the column(s) {', '.join(missing)}; its header is {header}")
    names = [snake_case(c) for c in header]
    first_line: dict[str, int] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not row:
            continue
        row_id = row[0].strip() or None
        if len(row) != len(header):
            yield CatalogError(
                f"expected {len(header)} cells, found {len(row)} (an unquoted comma or a missing cell?)",
                line=start, reason="bad_csv_row", id=row_id,
            )
            continue
        try:
            product = _product(dict(zip(names, row)), folder, start)
        except CatalogError as err:
            yield err
            continue
        if product.id in first_line:
            yield CatalogError(f"id {product.id!r} already appeared on line {first_line[product.id]}",
                               line=start, reason="duplicate_id", id=product.id)
            continue
        first_line[product.id] = start
        yield product


def _product(cells: dict[str, str], folder: Path, line: int) -> Product:
    obj: dict[str, object] = {}
    for name, raw in cells.items():
        value = raw.strip()
        if not value:
            continue
        if name == "product_display_name":
            obj["title"] = value
        elif name in INTEGER_COLUMNS:
            try:
                obj[name] = int(float(value)) if re.fullmatch(r"\d+(\.0*)?", value) else int(value)
            except ValueError:
                raise CatalogError(f"{name} must be a whole number, got {value!r}", line=line,
                                   reason="bad_field", id=cells.get("id") or None) from None
        else:
            obj[name] = value
    pid = obj.get("id")
    if isinstance(pid, str):
        obj["image"] = f"{IMAGE_DIR}/{pid}.jpg"
    product = parse_product(obj, line=line)
    if not (folder / product.image).is_file():
        raise CatalogError(f"no image file {product.image}", line=line, reason="missing_image", id=product.id)
    return product


@dataclass
class ImportSummary:
    products: int = 0
    failed: int = 0
    catalog: str = ""
    report: str = ""


def convert_fashion(folder: Path | str, out: Path | str, report: ErrorReport) -> ImportSummary:
    """Write the dataset as a JSON Lines catalog at ``out``; rejected rows go to ``report``.

    Image references are rewritten relative to the catalog's folder, so the catalog can be
    read from anywhere while the dataset stays where it is.
    """
    folder, out = Path(folder).resolve(), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = out.parent.resolve()
    summary = ImportSummary(catalog=str(out), report=str(report.path or ""))
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for item in read_fashion(folder):
                if isinstance(item, CatalogError):
                    report.add_catalog_error(item)
                    summary.failed += 1
                    continue
                ref = Path(os.path.relpath(folder / item.image, base)).as_posix()
                f.write(json.dumps(replace(item, image=ref, images=(ref,)).to_json(), ensure_ascii=False) + "\n")
                summary.products += 1
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return summary

"""The per-item error report of an indexing run.

Every product that cannot be indexed (a malformed catalog line, an image that cannot be
loaded) becomes one JSON line in the report file::

    {"id": "p-17", "line": 18, "source": "image", "reason": "truncated", "message": "..."}

``source`` says which stage rejected the item (``catalog`` for the line itself, ``image`` for
loading or decoding its picture, ...); ``reason`` is a short stable code to count and filter by;
``message`` is a sentence for a person. Lines are written and flushed as they happen, so the
report of a killed run still lists what failed before the kill. The counts by reason feed the
run's summary.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, TextIO


@dataclass(frozen=True)
class ItemError:
    """One failed item, as written to the report."""

    id: str | None
    line: int | None
    source: str
    reason: str
    message: str


class RejectedLine(Protocol):
    """A rejected input line that can say what to report (:class:`indexer.catalog.CatalogError`)."""

    def to_item_error(self) -> ItemError: ...


class ErrorReport:
    """Writes :class:`ItemError` lines to ``path`` (or only counts them when ``path`` is None).

    The file is created (truncated) on the first error, or at once with ``create_empty=True``
    so that a clean run leaves an empty report rather than a stale one. ``append=True`` keeps
    the lines of an earlier, interrupted run.
    """

    def __init__(self, path: Path | str | None, *, append: bool = False, create_empty: bool = True):
        self.path = Path(path) if path is not None else None
        self._counts: Counter[str] = Counter()
        self._file: TextIO | None = None
        self._append = append
        if self.path is not None and create_empty:
            self._open()

    def _open(self) -> TextIO:
        if self._file is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a" if self._append else "w", encoding="utf-8")
        return self._file

    def add(self, error: ItemError) -> None:
        self._counts[error.reason] += 1
        if self.path is not None:
            f = self._open()
            f.write(json.dumps(asdict(error), ensure_ascii=False) + "\n")
            f.flush()

    def add_catalog_error(self, error: RejectedLine) -> None:
        """Record a catalog line that was rejected (see :class:`indexer.catalog.CatalogError`)."""
        self.add(error.to_item_error())

    def add_item_error(
        self, id: str | None, reason: str, message: str, *, line: int | None = None, source: str = "image"
    ) -> None:
        """Record a product that was read but failed in a later stage (by default, its image)."""
        self.add(ItemError(id=id, line=line, source=source, reason=reason, message=message))

    @property
    def count(self) -> int:
        return sum(self._counts.values())

    def counts_by_reason(self) -> dict[str, int]:
        """``{reason: count}``, most frequent first (ties by name, so the order is stable)."""
        return dict(sorted(self._counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ErrorReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_report(path: Path | str) -> Iterator[ItemError]:
    """The errors of a report file, in the order they were written."""
    with Path(path).open(encoding="utf-8") as f:
        for text in f:
            if text.strip():
                yield ItemError(**json.loads(text))

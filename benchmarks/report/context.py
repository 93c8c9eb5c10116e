"""The state one rendering shares: the run, and the conclusions the sections add.

(Turn one run's raw results into BENCHMARKS.md and the PNG plots.

Every sentence with a number is computed from the rows of this run; nothing is typed in.
One renderer per section (:mod:`.search`: methods, trees, filters, the plugin, the planner;
:mod:`.pipeline`: data, PCA, embedding, writes; :mod:`.api`); each returns its Markdown and
adds its findings to the run's conclusions and losses (:class:`Ctx`).)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Ctx:
    """One run's results and what the sections conclude from them."""

    res: dict[str, Any]
    concl: list[str] = field(default_factory=list)
    loses: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict]:
        return self.res["rows"]

    @property
    def m(self) -> dict:
        return self.res["machine"]

    @property
    def defef(self) -> int:
        return self.res["default_ef"]

    @property
    def methods(self) -> list[dict]:
        return [r for r in self.rows if r.get("section") == "methods" and "recall10" in r]

    @property
    def errors(self) -> list[dict]:
        return [r for r in self.rows if r.get("section") == "methods" and "error" in r]

    @property
    def cells(self) -> list[tuple[int, int]]:
        return sorted({(r["size"], r["dims"]) for r in self.methods})

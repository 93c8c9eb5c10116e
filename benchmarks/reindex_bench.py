"""Section 'reindex' (issue 3): the bulk reindex job, cold and from a warm embedding cache.

Runs ``indexer.reindex.reindex`` twice on the demo catalog into the benchmark's Solr node
(alias ``bench_products``): the first run embeds whatever its cache lacks, the second finds
every embedding in the cache, so its rate is read -> load -> (cache) -> reduce -> write ->
verify -> swap without a CNN. Each row keeps the job's own per-stage seconds. The cache lives
in the benchmark's data dir, so on a rerun of the suite the first run is warm too (its
``embedded`` count says so).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)
ALIAS = "bench_products"


def run(settings: Settings, client: SolrClient, catalog: Path, *, dims: int = 256,
        model: str = "efficientnet_lite0") -> list[dict]:
    from indexer.reindex import ReindexOptions, reindex

    rows = []
    options = ReindexOptions(catalog=catalog, alias=ALIAS, model=model, dims=dims)
    for what in ("first run", "rerun (warm cache)"):
        s = reindex(settings, client, options, show_progress=False)
        stages = s.seconds_by_stage
        write_s = stages.get("write", 0.0)
        rows.append({
            "section": "reindex", "what": what, "docs": s.indexed, "embedded": s.embedded,
            "cache_hits": s.cache_hits, "seconds": s.seconds_total,
            "docs_per_s": s.indexed / s.seconds_total if s.seconds_total else float("nan"),
            "write_docs_per_s": s.indexed / write_s if write_s else float("nan"),
            "stages": stages, "failed": s.failed, "dims": dims, "model": model,
            "summary": {k: v for k, v in asdict(s).items() if k in ("collection", "previous", "pca_version")},
        })
        log.info("reindex %s: %d docs in %.1f s (%d embedded, %d from cache)", what, s.indexed, s.seconds_total,
                 s.embedded, s.cache_hits)
    return rows

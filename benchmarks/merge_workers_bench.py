"""The HNSW force-merge of a bulk reindex with 1 merge worker and with N (issue 15 item 6).

One Solr node of the launcher; per round and per setting, a collection of a copy of the products
configset whose codec factory has ``<int name="mergeWorkers">W</int>``, the same vectors written
as the reindex job writes them (``cloud_bench.write``: auto-commit off, then a force-merge to one
segment), its write and merge timed, then the collection dropped. The settings alternate within
each round (1, N, then N, 1 in the next) so a drift of the machine falls on both; the summary is
the ratio of the merges' mean seconds. The vectors are shaped like a catalog's (4 variants of each
design around points of a rank-96 space, plus noise), normalised, float32.

    python -m benchmarks.merge_workers_bench [--size 100000] [--dims 256] [--workers 2]
        [--rounds 2] [--port 47311] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from lookalike.connection import SolrClient
from lookalike.settings import Settings

log = logging.getLogger(__name__)

CODEC_FACTORY = '<codecFactory class="io.lookalike.solr.LookalikeCodecFactory">'


def catalog_vectors(size: int, dims: int, seed: int = 20261202) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(96, dims)).astype(np.float32)
    designs = rng.normal(size=((size + 3) // 4, 96)).astype(np.float32) @ basis
    # designs have about 10 a dimension (96 unit normals summed); variants differ by 3
    v = np.repeat(designs, 4, axis=0)[:size] + 3.0 * rng.normal(size=(size, dims)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def copy_workers_configset(directory: Path, workers: int) -> Path:
    """A copy of the products configset at ``directory`` whose codec factory has ``mergeWorkers``
    = ``workers`` (the other settings of the factory as they are)."""
    from lookalike.solr import cloud

    shutil.copytree(cloud.CONFIGSETS_DIR / cloud.PRODUCTS_CONFIGSET, directory)
    config = directory / "solrconfig.xml"
    text = config.read_text()
    if CODEC_FACTORY not in text:
        raise RuntimeError("the products configset no longer names the codec factory as expected")
    config.write_text(text.replace(CODEC_FACTORY, f'{CODEC_FACTORY}\n    <int name="mergeWorkers">{workers}</int>'))
    return directory


def upload_workers_configset(client: SolrClient, name: str, workers: int) -> None:
    """The products configset with ``mergeWorkers`` = ``workers``, uploaded as ``name``."""
    from lookalike.solr import cloud

    with tempfile.TemporaryDirectory() as tmp:
        cloud.upload_configset(client, name, copy_workers_configset(Path(tmp) / name, workers))


def documents(vectors: np.ndarray):
    for i in range(vectors.shape[0]):
        yield {"id": str(i), "in_stock": True, "group": f"d{i // 4}", "vector": vectors[i]}


def run(settings: Settings, client: SolrClient, vectors: np.ndarray, workers: int, rounds: int) -> list[dict]:
    from benchmarks.cloud_bench import write
    from lookalike.solr import cloud

    settings_order = [1, workers]
    for w in settings_order:
        upload_workers_configset(client, f"bench_mw{w}", w)
    rows = []
    writer = SolrClient(settings, client.base_url, role="indexer")
    for r in range(rounds):
        for w in settings_order if r % 2 == 0 else settings_order[::-1]:
            name = f"bench_merge_mw{w}"
            if name in cloud.list_collections(client):
                cloud.delete_collection(client, name)
            cloud.create_collection(client, name, vectors.shape[1], configset=f"bench_mw{w}")
            t = write(writer, name, documents(vectors), max_segments=1)
            row = {"round": r, "merge_workers": w, "size": vectors.shape[0], "dims": vectors.shape[1], **t,
                   "load_1m": round(os.getloadavg()[0], 2)}
            log.info("merge workers: %s", row)
            rows.append(row)
            cloud.delete_collection(client, name)
    for w in settings_order:
        cloud.delete_configset(client, f"bench_mw{w}")
    one = [r["merge_s"] for r in rows if r["merge_workers"] == 1]
    many = [r["merge_s"] for r in rows if r["merge_workers"] == workers]
    rows.append({"summary": True, "merge_s_1": one, f"merge_s_{workers}": many,
                 "ratio_mean": round(float(np.mean(many) / np.mean(one)), 3),
                 "ratio_per_round": [round(b / a, 3) for a, b in zip(one, many)]})
    return rows


def main(argv=None) -> int:
    from lookalike.solr import cluster, node

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=256)
    p.add_argument("--workers", type=int, default=2, help="the N compared with 1")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--port", type=int, default=47311, help="the node's port (its ZooKeeper: + 1000)")
    p.add_argument("--heap", default="2g")
    p.add_argument("--data-dir", type=Path, default=None, help="default: <LOOKALIKE_DATA_DIR>/bench-merge")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    base = Settings()
    settings = base.model_copy(update={"data_dir": args.data_dir or base.data_dir / "bench-merge"})
    t0 = time.perf_counter()
    vectors = catalog_vectors(args.size, args.dims)
    log.info("%d x %d vectors in %.1f s", args.size, args.dims, time.perf_counter() - t0)
    cluster.start(settings, nodes=1, port=args.port, heap=args.heap)
    try:
        with SolrClient(settings, node.base_url(args.port), role="admin") as client:
            rows = run(settings, client, vectors, args.workers, args.rounds)
    finally:
        cluster.stop(settings)
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

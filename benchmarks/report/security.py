"""Bounded load and fuzz (issue 13): the figures kept by ``benchmarks/load_api.py --write`` and by
the long fuzz run (``LOOKALIKE_FUZZ_RESULTS``), in results/load.json and results/fuzz.json.

``make bench`` does not rerun them (the load needs a served index, the fuzz a test session);
it renders what the last runs kept.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.report.fmt import f, table

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def security_section(results_dir: Path = RESULTS_DIR) -> list[str]:
    """Bounded load and fuzz (issue 13): figures of ``benchmarks/load_api.py --write`` and of the long
    fuzz run, kept in results/load.json and results/fuzz.json (not rerun by make bench: the load
    needs a served index, see the script)."""
    import json

    md: list[str] = []
    load_path, fuzz_path = results_dir / "load.json", results_dir / "fuzz.json"
    if not load_path.is_file() and not fuzz_path.is_file():
        return md
    md += ["## Bounded load and fuzz (issue 13)", ""]
    if load_path.is_file():
        ld = json.loads(load_path.read_text())
        md += [f"`python -m benchmarks.load_api` against `lookalike serve` on loopback ({ld.get('catalog', 'a demo catalog')}), "
               f"{ld['clients']} clients for {f(ld['seconds'], 0)} s on {ld.get('measured', '?')}: {ld['requests']} requests "
               f"({f(ld['requests_per_s'], 1)}/s), answers by status {ld['status']}. Server RSS "
               + (f"{f(ld['server_rss_mb']['min'], 0)}-{f(ld['server_rss_mb']['max'], 0)} MB" if ld.get("server_rss_mb") else "not sampled")
               + " (the 6300x6300 PNG uploads included; 503 = the decode limit's Retry-After).", "",
               table(["kind", "n", "p50 ms", "p95 ms", "status"],
                     [[k, v["n"], f(v["p50_ms"], 1), f(v["p95_ms"], 1), ", ".join(f"{c}: {n}" for c, n in v["status"].items())]
                      for k, v in ld["by_kind"].items()]), ""]
        up = ld.get("upload_rss_mb")
        if up:
            md += [f"A 6300x6300 PNG upload ({up['how']}): with the model loaded the server holds "
                   f"{up['model_loaded']} MB; one upload peaks at {up['one_png_peak']} MB "
                   f"(+{up['one_png_peak'] - up['model_loaded']} MB) and leaves {up['after_one']} MB; three at once "
                   f"answer {up['three_at_once_status']} (two decode, the third is told to retry) and peak at "
                   f"{up['three_at_once_peak']} MB, leaving {up['after_three']} MB. Issue 13 measured +420 MB for one, "
                   "a 1.87 GB peak for three and 1.35 GB kept.", ""]
    if fuzz_path.is_file():
        fz = json.loads(fuzz_path.read_text())
        md += [f"Seeded fuzz of the HTTP API (`LOOKALIKE_FUZZ_EXAMPLES={fz['examples']} pytest "
               f"tests/integration/test_api_fuzz.py`, {fz.get('measured', '?')}): {fz['requests']} requests, by status "
               f"{fz['status']}; no 5xx, no filter that let another value through, no product outside the catalog.", ""]
    return md

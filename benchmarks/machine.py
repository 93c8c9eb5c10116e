"""What the numbers were measured on: machine, load, versions, date."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import re
import subprocess
from pathlib import Path

INTERESTING_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                     "avx512_bf16", "amx_tile")


def cpu_info() -> dict:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    flag_set = set(flags.group(1).split()) if flags else set()
    mhz = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", text, re.M)
    return {
        "cpu_mhz": float(mhz.group(1)) if mhz else None,
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "flags": [f for f in INTERESTING_FLAGS if f in flag_set],
    }


def memory_gib() -> float:
    try:
        import psutil

        return psutil.virtual_memory().total / 2**30
    except ImportError:
        return float("nan")


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod, attr in (("numpy", "__version__"), ("sklearn", "__version__"), ("faiss", "__version__"),
                      ("hnswlib", "__version__"), ("tensorflow", "__version__"), ("keras", "__version__")):
        try:
            version = getattr(importlib.import_module(mod), attr, None)
            if version is None:
                from importlib.metadata import version as dist_version

                version = dist_version(mod)
            out[mod] = version
        except Exception:  # noqa: BLE001 - an optional library missing is a fact to record
            out[mod] = "not installed"
    out["solr"] = "9.10.1 (Lucene 9.12.3, Jetty 10.0.26)"
    return out


def blas_info() -> str:
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001
        return "?"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def describe() -> dict:
    return {
        **cpu_info(),
        "memory_gib": round(memory_gib(), 1),
        "kernel": platform.release(),
        "blas": blas_info(),
        "versions": versions(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_commit(),
        "load_avg_start": os.getloadavg(),
    }

"""What this machine offers a job: the CPUs this process may run on."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """CPUs this process may use (its affinity mask where the OS has one, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows: no affinity mask
        return max(1, os.cpu_count() or 1)

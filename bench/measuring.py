"""What every benchmark measures the same way: process memory, CPU time and quantiles."""

import os
import statistics
from collections.abc import Sequence
from pathlib import Path


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (or its peak, `VmHWM`) of a process, MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, seconds, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1, to the percent) of `values` (not empty), linear-interpolated;
    q = 0 and q = 1 are the smallest and the largest."""
    percent = round(q * 100)
    if len(values) < 2 or percent in (0, 100):
        return (min if percent == 0 else max)(values)
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]

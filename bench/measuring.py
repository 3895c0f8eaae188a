"""What every benchmark measures the same way: process memory, quantiles, readiness."""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import httpx


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (or its peak, `VmHWM`) of a process, MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; TimeoutError naming it after `timeout` seconds."""
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout / 0.1)):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)

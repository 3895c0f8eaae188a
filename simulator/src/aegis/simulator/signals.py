"""The metric signals a scraper would see, derived from the simulated state, and "where it is loudest".

`signal_series` is the single source of every metric: the OpenMetrics file for the real Prometheus,
the loopback Prometheus fake and the offline benchmark all read it, so they agree. Request latency
is log-normal with σ = 0.5 around the state's mean, which fixes p95 and p99 and the histogram.
"""

import math
import random
from statistics import median

from aegis.rca_worker.evidence import (
    CPU,
    ERROR_RATIO,
    LATENCY_P95,
    LATENCY_P99,
    MEMORY,
    REQUEST_RATE,
    RESTARTS,
)
from aegis.simulator.estate import INFRASTRUCTURE, SERVICES
from aegis.simulator.state import EstateHistory

SIGMA = 0.5
HTTP_SIGNALS = (REQUEST_RATE, ERROR_RATIO, LATENCY_P95, LATENCY_P99)
CONTAINER_SIGNALS = (CPU, MEMORY, RESTARTS)

Series = list[tuple[float, float]]


def latency_median_s(mean_ms: float) -> float:
    """Median of the log-normal whose mean is `mean_ms`, in seconds."""
    return mean_ms / 1000.0 * math.exp(-(SIGMA**2) / 2)


def latency_quantile_s(mean_ms: float, z: float) -> float:
    """Quantile at standard-normal `z` of the request latency, in seconds."""
    return latency_median_s(mean_ms) * math.exp(z * SIGMA)


def signal_series(history: EstateHistory) -> dict[tuple[str, str], Series]:
    """(service, signal) → points; a service that is down has no points; infrastructure no HTTP ones."""
    rng = random.Random(history.scenario.rng_seed ^ 0x5EED)
    result: dict[tuple[str, str], Series] = {}
    for service in SERVICES:
        for signal in (*HTTP_SIGNALS, *CONTAINER_SIGNALS):
            if signal in HTTP_SIGNALS and service in INFRASTRUCTURE:
                continue
            points: Series = []
            for step, t in enumerate(history.times):
                st = history.at(service, step)
                if not st.up and signal != RESTARTS:
                    continue
                noise = rng.lognormvariate(0.0, 0.06)
                value = {
                    REQUEST_RATE: st.rate,
                    ERROR_RATIO: min(1.0, st.err * noise),
                    LATENCY_P95: latency_quantile_s(st.latency_ms, 1.645) * noise,
                    LATENCY_P99: latency_quantile_s(st.latency_ms, 2.326) * noise,
                    CPU: st.cpu,
                    MEMORY: st.memory,
                    RESTARTS: float(st.restarts),
                }[signal]
                points.append((t, value))
            result[(service, signal)] = points
    return result


def loudest_symptom(history: EstateHistory, series: dict[tuple[str, str], Series]) -> str:
    """The service an on-call engineer sees first: the largest rise in error ratio, else in p95 latency.

    A service that went silent shows no symptom at all; infrastructure has no HTTP signals. When the
    answer is not the root, the case is "propagation-heavy".
    """
    inject = history.scenario.inject_time

    def rise(service: str, signal: str) -> float:
        points = series.get((service, signal), [])
        before = [v for t, v in points if t < inject]
        after = [v for t, v in points if t >= inject]
        return median(after) - median(before) if before and after else 0.0

    http = [s for s in SERVICES if s not in INFRASTRUCTURE]
    errors = {s: rise(s, ERROR_RATIO) for s in http}
    if max(errors.values()) > 0.02:
        return max(sorted(errors), key=lambda s: errors[s])
    latency = {s: rise(s, LATENCY_P95) for s in http}
    return max(sorted(latency), key=lambda s: latency[s])

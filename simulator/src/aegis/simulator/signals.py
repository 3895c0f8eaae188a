"""The metric signals a scraper would see, derived from the simulated state, and "where it is loudest".

`signal_series` is the single source of every metric: the OpenMetrics file for the real Prometheus,
the loopback Prometheus fake and the offline benchmark all read it, so they agree. Request latency
is log-normal with σ = 0.5 around the state's mean, which fixes p95 and p99 and the histogram.
With `Realism.sparse_series`, a step in which a service served no request (Poisson at its rate) has
no latency and no error-ratio point, as a histogram quantile or a ratio of zero rates has none.
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
from aegis.simulator.scenarios import STEP_S
from aegis.simulator.state import EstateHistory, StepState

SIGMA = 0.5
HTTP_SIGNALS = (REQUEST_RATE, ERROR_RATIO, LATENCY_P95, LATENCY_P99)
PER_REQUEST_SIGNALS = frozenset({ERROR_RATIO, LATENCY_P95, LATENCY_P99})
CONTAINER_SIGNALS = (CPU, MEMORY, RESTARTS)

Series = list[tuple[float, float]]


def latency_median_s(mean_ms: float) -> float:
    """Median of the log-normal whose mean is `mean_ms`, in seconds."""
    return mean_ms / 1000.0 * math.exp(-(SIGMA**2) / 2)


def latency_quantile_s(mean_ms: float, z: float) -> float:
    """Quantile at standard-normal `z` of the request latency, in seconds."""
    return latency_median_s(mean_ms) * math.exp(z * SIGMA)


def _value(signal: str, st: StepState, noise: float, idle: bool) -> float:
    """The value of `signal` for one step of state `st`, with its multiplicative scrape noise."""
    if signal == REQUEST_RATE:
        return 0.0 if idle else st.rate
    if signal == ERROR_RATIO:
        return min(1.0, st.err * noise)
    if signal in (LATENCY_P95, LATENCY_P99):
        return latency_quantile_s(st.latency_ms, 1.645 if signal == LATENCY_P95 else 2.326) * noise
    if signal == CPU:
        return st.cpu
    if signal == MEMORY:
        return st.memory
    return float(st.restarts)


def idle_steps(history: EstateHistory) -> dict[str, set[int]]:
    """Per HTTP service, the steps in which it served no request (none unless `sparse_series`)."""
    if not history.scenario.realism.sparse_series:
        return {}
    rng = random.Random(history.scenario.rng_seed ^ 0x5BA5E)
    return {
        service: {
            step
            for step in range(len(history.times))
            if rng.random() < math.exp(-history.at(service, step).rate * STEP_S)
        }
        for service in history.estate.http_services
    }


def signal_series(history: EstateHistory) -> dict[tuple[str, str], Series]:
    """(service, signal) → points; a service that is down has no points; infrastructure no HTTP ones."""
    rng = random.Random(history.scenario.rng_seed ^ 0x5EED)
    estate = history.estate
    idle = idle_steps(history)
    result: dict[tuple[str, str], Series] = {}
    for service in estate.services:
        for signal in (*HTTP_SIGNALS, *CONTAINER_SIGNALS):
            if signal in HTTP_SIGNALS and service in estate.infrastructure:
                continue
            quiet = idle.get(service, set())
            points: Series = []
            for step, t in enumerate(history.times):
                st = history.at(service, step)
                if not st.up and signal != RESTARTS:
                    continue
                if step in quiet and signal in PER_REQUEST_SIGNALS:
                    continue
                noise = rng.lognormvariate(0.0, 0.06)
                points.append((t, _value(signal, st, noise, step in quiet)))
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

    http = history.estate.http_services
    errors = {s: rise(s, ERROR_RATIO) for s in http}
    if max(errors.values()) > 0.02:
        return max(sorted(errors), key=lambda s: errors[s])
    latency = {s: rise(s, LATENCY_P95) for s in http}
    return max(sorted(latency), key=lambda s: latency[s])

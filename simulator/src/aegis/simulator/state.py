"""The estate's state step by step under a scenario: traffic, errors, latency, CPU, memory, restarts.

One pass per 15-second step, callees before callers, so that a callee's trouble reaches its callers
the way it does in a real system: errors through critical calls, latency through every call (times
the number of calls per request, which is why a shared leaf's slowness looks loudest at the top),
timeouts and refused connections for packet loss and a service that is down.
"""

import math
import random
from dataclasses import dataclass, field

from aegis.simulator.estate import Estate
from aegis.simulator.scenarios import STEP_S, STEPS, Scenario

CODE_FAULTS = frozenset({"exception", "deploy"})
TIMEOUT_MS = 1000.0
REFUSED_MS = 2.0
MEMORY_LIMIT = 1024 * 2**20


@dataclass
class StepState:
    """What one service is doing during one step."""

    up: bool = True
    rate: float = 0.0
    own_err: float = 0.0
    handled_err: float = 0.0
    err: float = 0.0
    self_ms: float = 0.0
    latency_ms: float = 0.0
    cpu: float = 0.0
    memory: float = 0.0
    restarts: int = 0
    timeout_err: dict[str, float] = field(default_factory=dict)
    extra_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class EstateHistory:
    """Per service, one `StepState` per step, and the step times."""

    scenario: Scenario
    times: list[float]
    states: dict[str, list[StepState]]

    @property
    def estate(self) -> Estate:
        """The estate the scenario runs in."""
        return self.scenario.estate

    def at(self, service: str, step: int) -> StepState:
        """The state of `service` during `step`."""
        return self.states[service][step]


def _loss(s: Scenario, caller: str, callee: str, active: bool) -> tuple[float, float]:
    """(timeout probability, extra ms) of one call when packet loss hits the root's interface."""
    if not active or s.fault != "loss" or s.root not in (caller, callee):
        return 0.0, 0.0
    p = 0.06 + 0.14 * s.intensity
    return p, 250.0 * p * 4


def _own(
    s: Scenario, service: str, step: int, rng: random.Random, base: dict[str, float]
) -> tuple[float, float, float]:
    """(own error ratio, handled failure ratio, self-time ms) of `service` at `step`.

    A code fault's failures are errors, or — with `quiet_code_faults` — failures the code catches
    and answers 200 for, which only its INFO lines tell."""
    err = base[service] * rng.uniform(0.5, 1.5)
    if rng.random() < 0.01:
        err += rng.uniform(0.01, 0.04)
    self_ms = s.estate.self_ms[service] * rng.lognormvariate(0.0, 0.06)
    if service != s.root or step < s.inject_step:
        return err, 0.0, self_ms
    k = s.intensity
    fault_err = 0.0
    if s.fault == "cpu":
        self_ms *= 1.8 + 2.5 * k
    elif s.fault == "delay":
        self_ms += 60.0 + 340.0 * k
    elif s.fault == "exception":
        fault_err = 0.06 + 0.3 * k
    elif s.fault == "deploy":
        fault_err = 0.04 + 0.2 * k
        self_ms *= 1.3 + 0.8 * k
    elif s.fault == "mem":
        self_ms *= 1.0 + 0.4 * _leak_fill(s, step)
    if s.realism.quiet_code_faults and s.fault in CODE_FAULTS:
        return min(err, 1.0), min(fault_err, 1.0), self_ms
    return min(err + fault_err, 1.0), 0.0, self_ms


def _leak_fill(s: Scenario, step: int) -> float:
    """How full the leaking container is, 0..1; 1 is the OOM kill."""
    period = 14 + int(10 * (1 - s.intensity))
    return ((step - s.inject_step) % period + 1) / period


def simulate(s: Scenario) -> EstateHistory:
    """Run the scenario and return every service's state at every step."""
    rng = random.Random(s.rng_seed)
    estate = s.estate
    services = estate.services
    base_err = {svc: rng.uniform(0.001, 0.004) for svc in services}
    base_mem = {svc: rng.uniform(150, 420) * 2**20 for svc in services}
    cpu_cost = {svc: estate.self_ms[svc] * rng.uniform(0.8, 1.2) / 1000.0 * 0.6 for svc in services}
    order = estate.order
    times = [s.start + i * STEP_S for i in range(STEPS)]
    states: dict[str, list[StepState]] = {svc: [] for svc in services}
    restarts = dict.fromkeys(services, 0)
    for step in range(STEPS):
        active = step >= s.inject_step
        now = {svc: StepState() for svc in services}
        for svc in services:
            st = now[svc]
            st.own_err, st.handled_err, st.self_ms = _own(s, svc, step, rng, base_err)
            st.memory = base_mem[svc] * rng.lognormvariate(0.0, 0.01)
            if active and svc == s.root and s.fault == "down":
                st.up = False
            if active and svc == s.root and s.fault == "mem":
                fill = _leak_fill(s, step)
                st.memory = base_mem[svc] + (MEMORY_LIMIT - base_mem[svc]) * fill
                if fill >= 1.0:
                    st.up = False
                    restarts[svc] += 1
            if svc == s.root and s.fault == "deploy" and step == s.inject_step:
                restarts[svc] += 1
            for h in s.herrings:
                if h.kind == "healthy_deploy" and h.service == svc and step == h.at_step:
                    restarts[svc] += 1
            st.restarts = restarts[svc]
        for svc in order:
            _propagate(s, svc, now, active)
        _traffic(s, step, now, rng)
        for svc in services:
            st = now[svc]
            cpu = 0.03 + st.rate * cpu_cost[svc] * (1 + 0.1 * st.err)
            if active and svc == s.root and s.fault == "cpu":
                cpu = 0.9 + 0.08 * rng.random()
            for h in s.herrings:
                if h.kind == "batch_cpu" and h.service == svc and h.at_step <= step < h.at_step + 30:
                    cpu += 0.35 + 0.2 * rng.random()
            st.cpu = cpu * rng.lognormvariate(0.0, 0.04) if st.up else 0.0
            states[svc].append(st)
    return EstateHistory(s, times, states)


def _propagate(s: Scenario, svc: str, now: dict[str, StepState], active: bool) -> None:
    st = now[svc]
    latency = st.self_ms
    ok = 1.0 - st.own_err
    for call in s.estate.calls.get(svc, ()):
        callee = now[call.callee]
        timeout_p, extra = _loss(s, svc, call.callee, active)
        if not callee.up:
            callee_err, callee_ms = 1.0, REFUSED_MS
        else:
            callee_err = 1.0 - (1.0 - callee.err) * (1.0 - timeout_p)
            callee_ms = callee.latency_ms * (1 - timeout_p) + TIMEOUT_MS * timeout_p + extra
        st.timeout_err[call.callee] = timeout_p
        st.extra_ms[call.callee] = extra
        weight = 0.95 if call.critical else 0.04
        ok *= (1.0 - weight * callee_err) ** call.per_request
        latency += call.per_request * callee_ms
    st.err = 1.0 - ok if st.up else 0.0
    st.latency_ms = latency


def _traffic(s: Scenario, step: int, now: dict[str, StepState], rng: random.Random) -> None:
    wave = 1.0 + 0.12 * math.sin(2 * math.pi * step / STEPS + s.seed)
    surge = 1.3 if s.surge_step is not None and step >= s.surge_step else 1.0
    estate = s.estate
    now[estate.entry].rate = 40.0 * wave * surge * rng.lognormvariate(0.0, 0.03)
    for svc in reversed(estate.order):
        st = now[svc]
        for call in estate.calls.get(svc, ()):
            retry = 1.0 + 0.5 * min(1.0, now[call.callee].err if now[call.callee].up else 1.0)
            now[call.callee].rate += st.rate * call.per_request * (retry if st.up else 0.0)
    for svc in estate.services:
        if not now[svc].up:
            now[svc].rate = 0.0

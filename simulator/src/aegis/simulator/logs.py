"""Log lines the simulated services write: background noise, their own failures, their callers' complaints.

A caller whose callee fails logs it — naming the callee only in some estates (`names_callee`), with
a generic "upstream error" in others, as real code bases do. Lines carry ids, durations and
addresses, so clustering them into templates is not trivial. With `Realism.quiet_code_faults` every
service also writes INFO lines about the requests it serves (received, queried, done), and a code
fault's handled failures replace some of the root's "done" lines with a caught-exception INFO line:
its only trace is a shift in how often each INFO template occurs.
"""

import random
from dataclasses import dataclass

from aegis.simulator.scenarios import STEP_S, Scenario
from aegis.simulator.state import EstateHistory

LOG_SAMPLE = 0.08
MAX_LINES_PER_STEP = 30
INFO_SAMPLE = 0.01
MAX_INFO_PER_STEP = 6


@dataclass(frozen=True)
class LogRecord:
    """One line: when (unix ns), which service, level, text."""

    time_ns: int
    service: str
    level: str
    line: str


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _own_error(s: Scenario, service: str, rng: random.Random) -> str:
    if s.fault == "deploy":
        return f'ERROR failed to decode request: unknown field "currency_code" (build {_hex(rng, 7)})'
    if s.fault == "exception":
        return (
            f"ERROR unhandled exception in {service}.Handler.process: NullPointerException "
            f"order_id={_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-a{_hex(rng, 3)}-{_hex(rng, 12)}"
        )
    return f"ERROR internal error handling request id={_hex(rng, 16)}"


def _callee_error(s: Scenario, caller: str, callee: str, kind: str, rng: random.Random) -> str:
    if caller in s.names_callee:
        address = f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}:8080"
        detail = {
            "refused": f"dial tcp {address}: connect: connection refused",
            "timeout": f"context deadline exceeded after {rng.randint(995, 1010)}ms",
            "error": f"rpc error: code = Unavailable desc = status {rng.choice((500, 503))}",
        }[kind]
        return f"ERROR call to {callee} failed: {detail}"
    return f"ERROR request failed: upstream error ({kind}) trace_id={_hex(rng, 32)}"


def _background(service: str, rng: random.Random) -> str:
    return rng.choice(
        (
            f"WARN slow request path=/api/{service}/items took {rng.randint(300, 900)}ms",
            f"WARN cache miss ratio high: {rng.randint(20, 40)}% over last minute",
            f"ERROR request cancelled by client after {rng.randint(1, 30)}s id={_hex(rng, 12)}",
        )
    )


def _info_lines(
    s: Scenario, history: EstateHistory, service: str, step: int, rng: random.Random
) -> list[str]:
    """The INFO lines of the requests `service` served in `step`, a sample of them.

    The draws do not depend on the fault, so a handled failure changes which template a line has and
    nothing else."""
    if service in history.estate.infrastructure:
        return []
    st = history.at(service, step)
    count = min(MAX_INFO_PER_STEP, int(st.rate * STEP_S * INFO_SAMPLE + rng.random()))
    op = f"{service.title().replace('-', '')}Service.process"
    lines = []
    for _ in range(count):
        request = f"{rng.getrandbits(48):012x}"
        items, took, handled = rng.randint(1, 9), rng.randint(2, 80), rng.random()
        lines.append(f"INFO [{op}] request received id={request}")
        if handled < st.handled_err:
            lines.append(_handled_failure(s, op, request))
        else:
            lines.append(f"INFO [{op}] query done items={items} in {took}ms id={request}")
    return lines


def _handled_failure(s: Scenario, op: str, request: str) -> str:
    if s.fault == "deploy":
        return f'INFO [{op}] unknown field "currency_code" ignored, using default id={request}'
    return f"INFO [{op}] catch price exception, returning default result id={request}"


def _blame(s: Scenario, history: EstateHistory, service: str, step: int) -> list[tuple[str, str, float]]:
    """(callee, kind, error share) of each callee whose failure reaches `service` at `step`."""
    st = history.at(service, step)
    found = []
    for call in history.estate.calls.get(service, ()):
        callee = history.at(call.callee, step)
        weight = 0.95 if call.critical else 0.04
        if not callee.up:
            found.append((call.callee, "refused", weight * call.per_request))
        elif st.timeout_err.get(call.callee, 0.0) > 0:
            found.append((call.callee, "timeout", weight * call.per_request * st.timeout_err[call.callee]))
        elif callee.err > 0.02:
            found.append((call.callee, "error", weight * call.per_request * callee.err))
    return found


def _step_lines(
    s: Scenario, history: EstateHistory, service: str, step: int, rng: random.Random
) -> list[str]:
    st = history.at(service, step)
    lines = [_background(service, rng) for _ in range(rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0])]
    errors = min(MAX_LINES_PER_STEP, int(st.rate * st.err * STEP_S * LOG_SAMPLE + rng.random()))
    blame = _blame(s, history, service, step)
    own_share = st.own_err / max(st.err, 1e-9)
    for _ in range(errors):
        if blame and rng.random() > own_share:
            callee, kind, _ = rng.choices(blame, [b[2] for b in blame])[0]
            lines.append(_callee_error(s, service, callee, kind, rng))
        elif (
            service == s.root
            and step >= s.inject_step
            and s.fault in ("exception", "deploy")
            and not s.realism.quiet_code_faults
        ):
            lines.append(_own_error(s, service, rng))
        else:
            lines.append(_background(service, rng))
    if s.realism.quiet_code_faults:
        lines.extend(_info_lines(s, history, service, step, rng))
    active = step >= s.inject_step and service == s.root
    if active and s.fault == "mem" and rng.random() < 0.5:
        lines.append(f"WARN GC overhead limit approaching: heap {int(st.memory / 2**20)}MiB used")
    if active and s.fault == "cpu" and rng.random() < 0.6:
        lines.append(f"WARN handler exceeded latency budget: {int(st.self_ms)}ms > 50ms")
    for h in s.herrings:
        if h.service == service and h.kind == "retry_noise" and h.at_step <= step < h.at_step + 16:
            lines.extend(
                f"WARN retrying pool refresh attempt={rng.randint(1, 5)}" for _ in range(rng.randint(2, 6))
            )
        if h.service == service and h.kind == "healthy_deploy" and h.at_step <= step < h.at_step + 8:
            lines.append("WARN deprecated config key 'cache.ttl' is ignored")
    return lines


def generate_logs(history: EstateHistory) -> list[LogRecord]:
    """Every line of every service that is up, in time order."""
    s = history.scenario
    rng = random.Random(s.rng_seed ^ 0x1065)
    records: list[LogRecord] = []
    for step, t in enumerate(history.times):
        for service in history.estate.services:
            if not history.at(service, step).up:
                continue
            for line in _step_lines(s, history, service, step, rng):
                at = int((t + rng.random() * STEP_S) * 1e9)
                level = line.split(" ", 1)[0].lower()
                records.append(LogRecord(at, service, level, line))
            if service == s.root and s.fault == "deploy" and step == s.inject_step:
                records.append(LogRecord(int(t * 1e9), service, "info", "INFO starting version v2.4.0"))
    records.sort(key=lambda r: (r.time_ns, r.service, r.line))
    return records

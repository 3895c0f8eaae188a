"""Calls that stop: an operation that called a service on (almost) every call before the change and
rarely after has taken another path through its own code — an early return, a swallowed error.

The same shape is also what a caller shows when a callee it still calls fails first and it gives up
on the rest, so a stop only counts as the service's own evidence when none of the services its
operation still calls answered worse (the ranking checks that against what callers see of them).

An operation that calls another service where it called the first (a seat query that asks the
other order store, for the other kind of train) took another branch for other requests: an early
return calls less, not elsewhere, so a call whose lost share went to another callee is no stop.
"""

from dataclasses import dataclass

from aegis.rca_worker.evidence import OperationTimings

# Called on at least this share of an operation's calls before: the call is part of its normal path.
ALWAYS_CALLED = 0.9
# After the change, called on at most this share of the old share: the path no longer reaches it.
STOPPED_BELOW = 0.5
# Fewer calls of the operation than this on a side say nothing about its path.
MIN_CALLS = 5
# A callee whose share rose by this much of the share the stopped call lost took its place.
REPLACED_FROM = 0.5


@dataclass(frozen=True)
class StoppedCall:
    """One callee an operation stopped calling, and the callees that operation still calls."""

    service: str
    operation: str
    callee: str
    before: float
    after: float
    still_called: frozenset[str]

    @property
    def query(self) -> str:
        """Where the evidence is: the operation's calls in the traces."""
        return f"jaeger: {self.service} {self.operation} calls {self.callee}"


def stopped_calls(operations: list[OperationTimings], change: float) -> list[StoppedCall]:
    """Every (operation, callee) whose share of calls fell from `ALWAYS_CALLED` to below
    `STOPPED_BELOW` of it, with at least `MIN_CALLS` calls of the operation on each side, and whose
    lost share no other callee of the operation took (`REPLACED_FROM`)."""
    shares: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for timings in operations:
        if timings.kind != "calls" or timings.callee is None:
            continue
        before = [v for t, v in timings.samples if t < change]
        after = [v for t, v in timings.samples if t >= change]
        if len(before) < MIN_CALLS or len(after) < MIN_CALLS:
            continue
        shares.setdefault((timings.service, timings.operation), {})[timings.callee] = (
            sum(before) / len(before),
            sum(after) / len(after),
        )
    found = []
    for (service, operation), callees in sorted(shares.items()):
        still = frozenset(c for c, (_, share_after) in callees.items() if share_after > 0)
        for callee, (share_before, share_after) in sorted(callees.items()):
            lost = share_before - share_after
            replaced = any(
                after - before >= REPLACED_FROM * lost
                for c, (before, after) in callees.items()
                if c != callee
            )
            if share_before >= ALWAYS_CALLED and share_after <= STOPPED_BELOW * share_before and not replaced:
                stop = StoppedCall(service, operation, callee, share_before, share_after, still - {callee})
                found.append(stop)
    return found

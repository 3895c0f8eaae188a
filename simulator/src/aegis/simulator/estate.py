"""The simulated estate: twelve services of an online shop and who calls whom.

Modelled on the Online Boutique that RCAEval also uses. Each edge says how many calls one request
makes on average and whether the caller fails when the callee does (critical) or degrades quietly.
`redis` and `postgres` are infrastructure: they emit no spans and no HTTP metrics of their own, only
container metrics, exactly as in most real estates: their callers' client spans speak for them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    """One edge of the call graph."""

    callee: str
    per_request: float
    critical: bool


SERVICES: tuple[str, ...] = (
    "frontend",
    "cart",
    "checkout",
    "payment",
    "shipping",
    "currency",
    "email",
    "recommendation",
    "catalog",
    "ad",
    "redis",
    "postgres",
)
INFRASTRUCTURE = frozenset({"redis", "postgres"})
ENTRY = "frontend"

CALLS: dict[str, tuple[Call, ...]] = {
    "frontend": (
        Call("catalog", 2.0, True),
        Call("currency", 2.0, True),
        Call("cart", 1.0, True),
        Call("recommendation", 1.0, False),
        Call("ad", 1.0, False),
        Call("checkout", 0.3, True),
        Call("shipping", 0.3, True),
    ),
    "checkout": (
        Call("cart", 1.0, True),
        Call("catalog", 1.0, True),
        Call("currency", 2.0, True),
        Call("shipping", 1.0, True),
        Call("payment", 1.0, True),
        Call("email", 1.0, False),
    ),
    "cart": (Call("redis", 2.0, True),),
    "recommendation": (Call("catalog", 1.0, True),),
    "catalog": (Call("postgres", 1.0, True),),
    "payment": (Call("postgres", 1.0, True),),
}


def callers_of(service: str) -> list[str]:
    """Services that call `service` directly."""
    return sorted(caller for caller, calls in CALLS.items() if any(c.callee == service for c in calls))


def bottom_up() -> list[str]:
    """Services ordered so that every callee comes before its callers."""
    order: list[str] = []

    def visit(service: str) -> None:
        if service in order:
            return
        for call in CALLS.get(service, ()):
            visit(call.callee)
        order.append(service)

    for service in SERVICES:
        visit(service)
    return order


def edges() -> list[tuple[str, str]]:
    """(caller, callee) pairs of the graph."""
    return sorted((caller, call.callee) for caller, calls in CALLS.items() for call in calls)

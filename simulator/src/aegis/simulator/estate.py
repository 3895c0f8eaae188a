"""The simulated estates: who calls whom, how often, and what each service costs on its own.

The shop is twelve services modelled on the Online Boutique that RCAEval also uses. The wide estate
(`Realism.wide_estate`) is that shop inside the forty-odd services a real company runs around it,
Train Ticket's size: login and users, search, fraud and tax, ledgers, feature stores — several
called only now and then, so their series are sparse. Each edge says how many calls one request
makes on average and whether the caller fails when the callee does (critical) or degrades quietly.
Infrastructure (databases, caches) emits no spans and no HTTP metrics of its own, only container
metrics, exactly as in most real estates: their callers' client spans speak for them.
"""

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Call:
    """One edge of the call graph."""

    callee: str
    per_request: float
    critical: bool


@dataclass(frozen=True)
class Estate:
    """Services, the call graph, the entry service, the infrastructure and each service's own cost."""

    services: tuple[str, ...]
    calls: dict[str, tuple[Call, ...]]
    infrastructure: frozenset[str]
    self_ms: dict[str, float]
    entry: str = "frontend"

    def callers_of(self, service: str) -> list[str]:
        """Services that call `service` directly."""
        return sorted(c for c, calls in self.calls.items() if any(x.callee == service for x in calls))

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Services ordered so that every callee comes before its callers."""
        order: list[str] = []

        def visit(service: str) -> None:
            if service in order:
                return
            for call in self.calls.get(service, ()):
                visit(call.callee)
            order.append(service)

        for service in self.services:
            visit(service)
        return tuple(order)

    def bottom_up(self) -> list[str]:
        """Services ordered so that every callee comes before its callers."""
        return list(self.order)

    def edges(self) -> list[tuple[str, str]]:
        """(caller, callee) pairs of the graph."""
        return sorted((caller, call.callee) for caller, calls in self.calls.items() for call in calls)

    @property
    def http_services(self) -> list[str]:
        """Services that serve HTTP (and so have request metrics and server spans)."""
        return [s for s in self.services if s not in self.infrastructure]


SHOP_SELF_MS = {
    "frontend": 12.0,
    "cart": 5.0,
    "checkout": 18.0,
    "payment": 14.0,
    "shipping": 8.0,
    "currency": 3.0,
    "email": 10.0,
    "recommendation": 22.0,
    "catalog": 7.0,
    "ad": 6.0,
    "redis": 1.0,
    "postgres": 4.0,
}
SHOP_CALLS: dict[str, tuple[Call, ...]] = {
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
SHOP = Estate(tuple(SHOP_SELF_MS), SHOP_CALLS, frozenset({"redis", "postgres"}), SHOP_SELF_MS)

# The services around the shop, with their own cost in ms. Calls per request below 0.05 make a
# service low-traffic: at the shop's 40 requests/s it then serves a request every few seconds or less.
_AROUND_SELF_MS = {
    "auth": 4.0,
    "user": 6.0,
    "session": 2.0,
    "search": 15.0,
    "reviews": 9.0,
    "wishlist": 5.0,
    "fraud": 11.0,
    "risk-model": 16.0,
    "tax": 4.0,
    "inventory": 6.0,
    "ledger": 8.0,
    "bank-gateway": 20.0,
    "address": 3.0,
    "carrier-quotes": 12.0,
    "templates": 3.0,
    "smtp-relay": 9.0,
    "ml-features": 7.0,
    "pricing": 5.0,
    "media": 6.0,
    "ad-targeting": 8.0,
    "fx-rates": 5.0,
    "notification": 4.0,
    "admin": 10.0,
    "audit": 4.0,
    "reporting": 25.0,
    "export": 18.0,
    "users-db": 3.0,
    "search-index": 5.0,
    "inventory-db": 3.0,
    "feature-store": 2.0,
    "kafka": 1.0,
}
_AROUND_CALLS: dict[str, tuple[Call, ...]] = {
    "frontend": (
        Call("auth", 1.0, True),
        Call("search", 0.4, False),
        Call("reviews", 0.2, False),
        Call("wishlist", 0.0008, False),
        Call("admin", 0.0005, False),
    ),
    "auth": (Call("session", 1.0, True), Call("user", 0.2, True)),
    "user": (Call("users-db", 1.0, True),),
    "session": (Call("redis", 1.0, True),),
    "search": (Call("search-index", 1.0, True), Call("pricing", 1.0, False)),
    "reviews": (Call("user", 0.5, False), Call("postgres", 1.0, True)),
    "wishlist": (Call("catalog", 1.0, False), Call("users-db", 1.0, True)),
    "checkout": (
        Call("fraud", 1.0, True),
        Call("tax", 1.0, True),
        Call("inventory", 1.0, True),
        Call("notification", 1.0, False),
    ),
    "fraud": (Call("risk-model", 1.0, True), Call("user", 1.0, True)),
    "risk-model": (Call("feature-store", 2.0, True),),
    "inventory": (Call("inventory-db", 1.0, True),),
    "payment": (Call("ledger", 1.0, True), Call("bank-gateway", 1.0, True)),
    "ledger": (Call("postgres", 1.0, True), Call("audit", 1.0, False)),
    "shipping": (Call("address", 1.0, True), Call("carrier-quotes", 1.0, False)),
    "email": (Call("templates", 1.0, True), Call("smtp-relay", 1.0, True)),
    "recommendation": (Call("ml-features", 1.0, True),),
    "ml-features": (Call("feature-store", 1.0, True),),
    "catalog": (Call("pricing", 1.0, True), Call("media", 0.5, False)),
    "ad": (Call("ad-targeting", 1.0, False),),
    "currency": (Call("fx-rates", 0.0002, True),),
    "notification": (Call("kafka", 1.0, True),),
    "admin": (Call("audit", 1.0, True), Call("reporting", 0.5, False), Call("export", 0.2, False)),
    "reporting": (Call("postgres", 2.0, True),),
    "export": (Call("reporting", 1.0, True),),
    "audit": (Call("kafka", 1.0, True),),
}
WIDE_SELF_MS = {**SHOP_SELF_MS, **_AROUND_SELF_MS}
WIDE = Estate(
    tuple(WIDE_SELF_MS),
    {s: SHOP_CALLS.get(s, ()) + _AROUND_CALLS.get(s, ()) for s in {*SHOP_CALLS, *_AROUND_CALLS}},
    frozenset({"redis", "postgres", "users-db", "search-index", "inventory-db", "feature-store", "kafka"}),
    WIDE_SELF_MS,
)

ROOTS: tuple[str, ...] = SHOP.services
"""The services faults are injected into: the shop's, in either estate, so the case set keeps its size."""


def estate_for(wide: bool) -> Estate:
    """The wide estate or the shop."""
    return WIDE if wide else SHOP

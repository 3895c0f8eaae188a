"""Seeded fault scenarios: which fault, where, when, how strong, and which red herrings ride along.

A scenario is pure data derived from (fault, root, seed): generating it twice gives the same
telemetry. The red herrings are what makes the benchmark honest: an unrelated batch job burning
CPU, a healthy deploy elsewhere, a traffic surge, a noisy retry log — things on-call engineers meet
and that naive "loudest signal wins" methods fall for.
"""

import random
import zlib
from dataclasses import dataclass, field

from aegis.simulator.estate import ROOTS, Estate, estate_for
from aegis.simulator.realism import CLASSIC, Realism

FAULTS: tuple[str, ...] = ("cpu", "mem", "delay", "loss", "exception", "down", "deploy")
STEP_S = 15.0
STEPS = 160
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z, so recorded cases never depend on the clock


@dataclass(frozen=True)
class Herring:
    """Something anomalous that is not the cause."""

    kind: str  # "batch_cpu", "healthy_deploy", "retry_noise"
    service: str
    at_step: int


@dataclass(frozen=True)
class Scenario:
    """One case of the benchmark: the fault, its root, its timing and intensity, and the herrings."""

    fault: str
    root: str
    seed: int
    start: float
    inject_step: int
    intensity: float
    surge_step: int | None
    herrings: tuple[Herring, ...] = field(default_factory=tuple)
    names_callee: frozenset[str] = frozenset()
    realism: Realism = CLASSIC

    @property
    def estate(self) -> Estate:
        """The estate the scenario runs in (the shop, or the wide estate around it)."""
        return estate_for(self.realism.wide_estate)

    @property
    def case_id(self) -> str:
        """`<root>_<fault>/<seed>`, the same shape as RCAEval's folders."""
        return f"{self.root}_{self.fault}/{self.seed}"

    @property
    def inject_time(self) -> float:
        """Unix seconds when the fault starts."""
        return self.start + self.inject_step * STEP_S

    @property
    def end(self) -> float:
        """Unix seconds of the last step."""
        return self.start + (STEPS - 1) * STEP_S

    @property
    def rng_seed(self) -> int:
        """Seed of every random draw of this scenario."""
        return zlib.crc32(f"{self.fault}/{self.root}/{self.seed}".encode())


def make_scenario(
    fault: str, root: str, seed: int, start: float | None = None, realism: Realism = CLASSIC
) -> Scenario:
    """The scenario of (fault, root, seed); `start` defaults to a fixed epoch so runs are reproducible."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
    services = estate_for(realism.wide_estate).services
    if root not in services:
        raise ValueError(f"unknown service {root!r}; expected one of {', '.join(services)}")
    rng = random.Random(zlib.crc32(f"{fault}/{root}/{seed}".encode()))
    inject = rng.randint(int(STEPS * 0.55), int(STEPS * 0.68))
    others = [s for s in services if s != root]
    herrings: list[Herring] = []
    if rng.random() < 0.5:
        herrings.append(Herring("batch_cpu", rng.choice(others), inject + rng.randint(-12, 8)))
    if rng.random() < 0.25:
        herrings.append(Herring("healthy_deploy", rng.choice(others), inject + rng.randint(-10, 10)))
    if rng.random() < 0.35:
        herrings.append(Herring("retry_noise", rng.choice(others), inject + rng.randint(-6, 6)))
    surge = inject + rng.randint(-8, 8) if rng.random() < 0.3 else None
    names = frozenset(s for s in services if rng.random() < 0.5)
    base = EPOCH + (zlib.crc32(f"{fault}/{root}".encode()) % 500) * 86400.0 + seed * 3600.0
    return Scenario(
        fault=fault,
        root=root,
        seed=seed,
        start=base if start is None else start,
        inject_step=inject,
        intensity=rng.uniform(0.0, 1.0),
        surge_step=surge,
        herrings=tuple(herrings),
        names_callee=names,
        realism=realism,
    )


def scenario_set(seeds: tuple[int, ...] = (1, 2), realism: Realism = CLASSIC) -> list[Scenario]:
    """Every fault × every shop service × `seeds`: 168 cases with the default two seeds, whatever the
    realism (in the wide estate the faults still go into the shop's twelve services)."""
    return [
        make_scenario(fault, root, seed, realism=realism)
        for seed in seeds
        for fault in FAULTS
        for root in ROOTS
    ]

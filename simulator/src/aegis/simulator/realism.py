"""How much of real systems' habits a simulated scenario shows: one switch per habit, named profiles.

The simulator began as a tidy shop of twelve services whose spans say when they fail and whose code
faults log ERROR lines. Real recordings (Nezha, PetShop; see ../shared/rca-data) are not like that:
spans carry no status code, a code fault only shifts which INFO lines a service writes, most of a
large estate serves little traffic so its series have holes, and traces are kept for a few minutes
around the incident only. Each habit is a switch here so that `aegis eval --realism` can say which
of them the engine survives; the profile `realistic` turns them all on, `DEFAULT` is what runs
unless told.
"""

from dataclasses import dataclass, fields, replace

CLASSIC_NAME = "classic"
REALISTIC_NAME = "realistic"


@dataclass(frozen=True)
class Realism:
    """Which real-world habits the scenario's telemetry has (all off: the classic simulator)."""

    untagged_spans: bool = False
    """Spans carry no `error` tag and no error type: only durations and structure tell."""
    quiet_code_faults: bool = False
    """Services log INFO lines per request; an exception or a bad deploy is handled (answered 200) and
    shows only as a shift of the root's INFO templates, not as errors."""
    wide_estate: bool = False
    """Forty-odd services: the shop plus the services around it, several of them low-traffic."""
    sparse_series: bool = False
    """A step in which a service served no request has no latency or error-ratio point."""
    short_trace_window: bool = False
    """Traces are kept only for two to three minutes around the injection, sampled densely."""

    @property
    def name(self) -> str:
        """`classic`, `realistic`, or the comma-separated switches that are on."""
        on = [f.name.replace("_", "-") for f in fields(self) if getattr(self, f.name)]
        if not on:
            return CLASSIC_NAME
        return REALISTIC_NAME if len(on) == len(fields(self)) else ",".join(on)


CLASSIC = Realism()
REALISTIC = Realism(**{f.name: True for f in fields(Realism)})
DEFAULT = Realism(untagged_spans=True, sparse_series=True, short_trace_window=True)
"""What `aegis eval` and `bench.accuracy` simulate unless told: the habits of real recordings the
engine holds its targets on (AC@1 >= 0.90, AC@3 >= 0.97), so CI guards those: spans with no status
code, sparse series, and traces kept for 2-3 minutes from 10-90 s before the injection (Nezha Train
Ticket's start 19-109 s before it). Quiet code faults are not in it: the live log search reads
error-ish lines only, so a handled exception's INFO line is seen only where it says "exception"
and a bad deploy's not at all (AC@1 on code faults ~0.35); `--realism realistic` shows the cost."""
SWITCHES: tuple[str, ...] = tuple(f.name.replace("_", "-") for f in fields(Realism))


def parse_realism(text: str) -> Realism:
    """`classic`, `realistic`, or switches separated by commas (`untagged-spans,wide-estate`)."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == [CLASSIC_NAME] or not words:
        return CLASSIC
    if words == [REALISTIC_NAME]:
        return REALISTIC
    unknown = sorted(set(words) - set(SWITCHES))
    if unknown:
        raise ValueError(
            f"unknown realism {', '.join(unknown)}; expected {CLASSIC_NAME}, {REALISTIC_NAME} "
            f"or some of {', '.join(SWITCHES)}"
        )
    return replace(CLASSIC, **{w.replace("-", "_"): True for w in words})

"""Where the graph goes next: pure functions of the state."""

from typing import Literal

from aegis.rca_worker.graph.state import AnalysisState


def start_at(state: AnalysisState) -> Literal["scope", "rank"]:
    """Recorded evidence goes straight to ranking; a live question starts by finding its scope."""
    return "rank" if state.get("bundle") is not None else "scope"


def after_rank(state: AnalysisState) -> Literal["reason", "guard"]:
    """The LLM step runs only when the question's model is not `none`."""
    return "guard" if state.get("model", "none") == "none" else "reason"

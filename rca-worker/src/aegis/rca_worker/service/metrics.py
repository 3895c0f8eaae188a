"""The worker's own Prometheus metrics: outcomes, time per step, degraded answers, work in flight.

They live in the process's one registry (`aegis.shared.serving.REGISTRY`), which FastStream's
broker metrics share and the skeleton's `/metrics` serves.
"""

from prometheus_client import Counter, Gauge, Histogram

from aegis.shared.serving import REGISTRY

__all__ = [
    "ANALYSES",
    "DEAD_LETTERS",
    "DEGRADED",
    "IN_FLIGHT",
    "LLM_FALLBACKS",
    "MODEL_AVAILABLE",
    "REGISTRY",
    "STEP_SECONDS",
]

ANALYSES = Counter(
    "aegis_rca_analyses_total",
    "Questions handled, by outcome: answered, degraded, failed, help, retried, rejected, cancelled.",
    ["outcome"],
)
STEP_SECONDS = Histogram(
    "aegis_rca_step_duration_seconds",
    "Duration of each analysis step (and of the whole analysis, step=total).",
    ["step"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
DEGRADED = Counter(
    "aegis_rca_degraded_answers_total",
    "Answers marked degraded, by cause: llm (the model failed), evidence_gaps (a backend failed).",
    ["cause"],
)
IN_FLIGHT = Gauge("aegis_rca_analyses_in_flight", "Analyses running in this replica.")
DEAD_LETTERS = Counter("aegis_rca_dead_letters_total", "Questions dead-lettered, by reason.", ["reason"])
LLM_FALLBACKS = Counter(
    "aegis_rca_llm_fallbacks_total",
    "LLM steps that fell back to the deterministic answer, by model alias and cause: unavailable, "
    "timeout, refused (the report failed the evidence floor or its schema), error.",
    ["model", "cause"],
)
MODEL_AVAILABLE = Gauge(
    "aegis_rca_llm_model_available",
    "1 when the model of an alias was found at start-up (Ollama /api/tags, OpenAI-compatible /models).",
    ["model"],
)

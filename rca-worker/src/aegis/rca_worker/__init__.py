"""Root-cause analysis worker: read-only evidence from Prometheus, Loki and Jaeger, ranked, explained.

The engine: `backends` (the read-only HTTP gate and one client per backend), `tools` (the
evidence collectors), `ranking` (pure, deterministic) and `analysis`. Around it: `graph` (the
LangGraph analysis: scope → collect → rank → reason → guard), `llm`
(providers, evidence digest, prompts, drill-down tools, report parsing), `guard` (what an answer
may say), `scoping` and `sessions` (what a question and its conversation are about), and
`service` (the FastStream app on the shared `rca-worker` consumer; `python -m aegis.rca_worker`).
"""

"""Root-cause analysis worker: read-only evidence from Prometheus, Loki and Jaeger, ranked.

The engine (issue 3): `backends` (the read-only HTTP gate and one client per backend), `tools`
(the three evidence collectors), `ranking` (pure, deterministic), and `analysis.analyse`, the entry
point the service (issue 4) wraps into its LangGraph graph.
"""

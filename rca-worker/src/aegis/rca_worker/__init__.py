"""Root-cause analysis worker: read-only evidence from Prometheus, Loki and Jaeger, ranked.

Only the distribution exists so far; the engine arrives with issue 3 and the service with issue 4.
"""

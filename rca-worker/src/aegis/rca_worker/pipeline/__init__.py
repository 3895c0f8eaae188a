"""The analysis pipeline, one module per step: scope → collect → rank → (reason) → guard.

`graph.make_graph` wires the steps as a LangGraph `StateGraph`; the rca-worker service, `aegis eval`
(live scenarios and recorded cases, which enter at rank), the demo and the tests all run it. The
steps lean on `ranking/`, `llm/`, `guard/`, `backends/` and `tools/`, which hold the work itself.
"""

"""The analysis as a LangGraph `StateGraph`: scope → collect → rank → (reason) → guard."""

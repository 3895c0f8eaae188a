"""The read-only evidence tools: one per backend, each returning evidence plus the gaps it met."""

"""The optional LLM step: providers, evidence digest, prompts, drill-down tools, parsing its report."""

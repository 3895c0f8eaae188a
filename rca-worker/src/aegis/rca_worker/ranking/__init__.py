"""Deterministic ranking of root-cause candidates: pure functions over an `EvidenceBundle`."""

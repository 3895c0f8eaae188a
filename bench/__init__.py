"""Benchmarks behind the figures quoted on the issues; each module prints its table and the targets."""

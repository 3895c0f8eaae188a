"""Contracts every Aegis service shares: event models, subjects, streams, settings, logging, NATS.

Services import only this package from each other, never one another; keeping it free of service
logic is what lets each deployable scale and fail on its own.
"""

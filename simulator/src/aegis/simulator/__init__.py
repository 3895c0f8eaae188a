"""A simulated microservice estate: seeded fault scenarios, their telemetry, and fakes that serve it.

It exists for the accuracy benchmark (`aegis eval`), for tests against real and fake backends, and
for the demo. Nothing here runs in production.
"""

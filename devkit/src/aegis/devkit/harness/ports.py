"""Free loopback ports for servers the tests start (the one helper the simulator's servers use too)."""

from aegis.simulator.server_process import free_port

__all__ = ["free_port"]

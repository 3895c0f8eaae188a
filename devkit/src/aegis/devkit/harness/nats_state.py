"""Resetting Aegis's JetStream state on a server the tests share with other runs."""

import contextlib

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from aegis.shared.streams import Topology, bucket_configs, stream_configs


async def forget_aegis_state(client: Client) -> None:
    """Delete every Aegis stream and KV bucket so a test starts from nothing."""
    js = client.jetstream()
    topology = Topology()
    names = [c.name or "" for c in stream_configs(topology)]
    names += [f"KV_{c.bucket}" for c in bucket_configs(topology)]
    for name in names:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)

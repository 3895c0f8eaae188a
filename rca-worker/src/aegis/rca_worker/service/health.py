"""Whether this worker replica should be given work, for the skeleton's `/healthz` and `/readyz`.

Live while its NATS connection is not closed for good; ready once the consumers run on a connected
broker, and not while shutting down, so a rolling update stops sending work to a replica that is
leaving. A missing model is a warning on a ready replica (answers are still given).
"""

from faststream.nats import NatsBroker

from aegis.shared.serving import Health


class Readiness:
    """Whether this replica should be given work."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.consuming = False
        self.warnings: list[str] = []  # said by /readyz without making it fail (e.g. a missing model)

    async def health(self) -> Health:
        """Failing once the NATS connection is closed (not merely reconnecting): a restart helps."""
        connection = getattr(self.broker, "_connection", None)
        if connection is not None and connection.is_closed:
            return Health(failure="the NATS connection is closed")
        if not self.consuming:
            return Health(waiting="not consuming (starting or stopping)", warnings=tuple(self.warnings))
        if not await self.broker.ping(timeout=1.0):
            return Health(waiting="NATS is not connected", warnings=tuple(self.warnings))
        return Health(warnings=tuple(self.warnings))

"""The one factory of the notifier's ASGI app: the skeleton's `/healthz`, `/readyz` and `/metrics`.

The notifier has no other HTTP surface; its work is the consumer loops `Notifier.run_until` runs
beside the app (`aegis.shared.serving.serve(..., run=...)`). `/healthz` fails when a consumer loop
ended or hangs or the NATS connection is closed (a restart helps), `/readyz` also while NATS is
disconnected.
"""

from starlette.applications import Starlette

from aegis.notifier.service import Notifier
from aegis.shared.serving import operations_routes


def create_app(notifier: Notifier) -> Starlette:
    """The notifier's operations routes, reading `notifier`'s health on every probe."""
    return Starlette(routes=operations_routes(notifier.probe))

"""The baseline of `bench.ingest`: a bare FastAPI app whose webhook POST does nothing.

It runs on the same server stack as alert-ingest (the skeleton's `serve` with alert-ingest's
header-deadline protocol: uvicorn, uvloop, httptools, no access log), so the ratio of the two
rates is the cost of validating, normalising and waiting for JetStream's ack.
Run: `python -m bench.noop_app PORT`.
"""

import sys

from fastapi import FastAPI

from aegis.alert_ingest.header_deadline import header_deadline_protocol
from aegis.shared.serving import serve

app = FastAPI(title="no-op baseline")


@app.post("/alertmanager/webhook")
async def noop() -> dict[str, str]:
    return {"status": "accepted"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    serve(app, "127.0.0.1", int(sys.argv[1]), http=header_deadline_protocol(10.0))

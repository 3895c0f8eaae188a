"""The baselines of `bench.ingest`: a bare FastAPI app whose webhook POST reads the body and answers.

It runs on the same server stack as alert-ingest (the skeleton's `serve` with alert-ingest's
header-deadline protocol: uvicorn, uvloop, httptools, no access log) and gets the same requests,
so the ratio of the two rates compares the webhook (token, validation, normalising, JetStream's
ack) with the cheapest route a FastAPI service has: the baseline the issue's 0.8× target was set
against. FastAPI's own layers are most of that route's cost (alert-ingest's webhook runs ahead of
them); `--floor` serves a bare ASGI app instead (read the body, answer), what the server stack
alone costs.
Run: `python -m bench.noop_app PORT [--floor]`.
"""

import sys

from fastapi import FastAPI, Request
from starlette.types import Receive, Scope, Send

from aegis.alert_ingest.header_deadline import header_deadline_protocol
from aegis.alert_ingest.webhook import WEBHOOK_PATH
from aegis.shared.serving import serve

app = FastAPI(title="no-op baseline")
_ACCEPTED = b'{"status":"accepted"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_ACCEPTED)).encode())]


@app.post(WEBHOOK_PATH)
async def noop(request: Request) -> dict[str, str]:
    await request.body()
    return {"status": "accepted"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def floor(_scope: Scope, receive: Receive, send: Send) -> None:
    """Any request (served without lifespan): read its body, answer 200."""
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _ACCEPTED})


if __name__ == "__main__":
    bare = "--floor" in sys.argv
    port = int(sys.argv[1])
    protocol = header_deadline_protocol(10.0)
    serve(floor if bare else app, "127.0.0.1", port, http=protocol, lifespan="off" if bare else "on")

"""The load generator `bench.ingest` falls back to when `wrk` is not installed.

A bare asyncio HTTP/1.1 client (keep-alive, one request in flight per connection) on uvloop, in a
process of its own. httpx costs several times more CPU per request, on a machine that also runs
the servers under test, and became the bottleneck. The output line has the wrk script's shape.
Run: `python -m bench.http_load URL CONNECTIONS SECONDS RUN_PREFIX`.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

import uvloop

from bench import measuring

# alert-ingest runs with this AEGIS_WEBHOOK_TOKEN in bench.ingest: the token is checked before the body.
BENCH_TOKEN = "bench-webhook-token"  # noqa: S105 - a loopback benchmark's own token


def distinct_webhook_body(unique: str) -> bytes:
    """The webhook bench/ingest_post.lua sends, with `unique` in its group and fingerprint."""
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "PaymentHighErrorRate",
            "severity": "critical",
            "service": f"svc-{unique}",
            "namespace": "shop",
            "pod": f"payment-7d9c-{unique}",
        },
        "annotations": {
            "summary": "payment 5xx ratio above 5%",
            "description": "errors / requests > 0.05 for 5 minutes",
        },
        "startsAt": "2026-11-24T09:52:10.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
        "fingerprint": unique,
    }
    return json.dumps(
        {
            "receiver": "aegis",
            "status": "firing",
            "alerts": [alert],
            "groupLabels": {"alertname": "PaymentHighErrorRate", "service": f"svc-{unique}"},
            "commonLabels": {
                "alertname": "PaymentHighErrorRate",
                "severity": "critical",
                "namespace": "shop",
            },
            "commonAnnotations": {"summary": "payment 5xx ratio above 5%"},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="PaymentHighErrorRate",service="svc-{unique}"}}',
            "truncatedAlerts": 0,
        }
    ).encode()


async def _connection(
    host: str, port: int, path: str, prefix: str, deadline: float, latencies: list[float]
) -> tuple[int, int]:
    """Send requests one after the other on one keep-alive connection until `deadline`."""
    non_2xx = errors = sequence = 0
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {BENCH_TOKEN}\r\n"
    )
    try:
        while time.perf_counter() < deadline:
            sequence += 1
            body = distinct_webhook_body(f"{prefix}-{sequence}")
            started = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_and_headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in status_and_headers.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_and_headers.startswith(b"HTTP/1.1 2"):
                non_2xx += 1
    except (OSError, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
    return non_2xx, errors


async def run(url: str, connections: int, seconds: float, prefix: str) -> dict[str, int]:
    """Keep `connections` requests in flight for `seconds`; counts and latency percentiles (µs)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    outcomes = await asyncio.gather(
        *(
            _connection(host, port, parts.path, f"{prefix}-{n}", deadline, latencies)
            for n in range(connections)
        )
    )
    duration = time.perf_counter() - started
    latencies.sort()

    def percentile_us(p: float) -> int:
        return int(measuring.percentile(latencies, p / 100) * 1e6) if latencies else 0

    return {
        "requests": len(latencies),
        "duration_us": int(duration * 1e6),
        "non_2xx": sum(n for n, _ in outcomes),
        "socket_errors": sum(e for _, e in outcomes),
        "p50_us": percentile_us(50),
        "p99_us": percentile_us(99),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
    }


if __name__ == "__main__":
    target, conns, secs, run_prefix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    print("WRK_JSON " + json.dumps(uvloop.run(run(target, conns, secs, run_prefix))))

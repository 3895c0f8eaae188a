"""One failure vocabulary read two ways: the ranking's Python regex and the LogQL line filter the
Loki tool sends. Both must say the same of the same lines, and the LogQL one must mean that to the
real Loki (RE2), not only to the fake."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from aegis.devkit.harness.real_backends import RealLoki, server_binary
from aegis.rca_worker.failure_words import FAILURE_WORDS, LINES_WORTH_READING, LOKI_LINE_FILTER

TENANT = "words"

# (line, reports a failure, worth reading from Loki)
LINES: tuple[tuple[str, bool, bool], ...] = (
    ("java.lang.NullPointerException: null at com.shop.CartService.add(CartService.java:42)", True, True),
    ("Caused by: java.net.SocketTimeoutException: Read timed out", True, True),
    ("IOError: [Errno 32] Broken pipe", True, True),
    ('level=error msg="charge declined" order=17', True, True),
    ("ERROR PaymentService - payment failed for order 17", True, True),
    ("Failed to send the order confirmation", True, True),
    ("health check failing 3 times in a row", True, True),
    ("upstream request timeout after 5000ms", True, True),
    ("dial tcp 10.0.0.7:5432: connect: connection refused", True, True),
    ("rpc status: code = Unavailable desc = transport is closing", True, True),
    ("panic: runtime assertion: invalid memory address", True, True),
    ("FATAL: the database system is shutting down", True, True),
    ("container payment was OOMKilled", True, True),
    ("worker 42 killed by signal 9", True, True),
    ("WARN slow request path=/api/cart took 812ms", False, True),
    ("Warning: deprecated config key 'cache.ttl' is ignored", False, True),
    ("get results: this terrarium looks great in your living room", False, False),
    ("failover to the replica completed", False, False),
    ("loaded readTimeout=30s from the config", False, False),
    ("GET /api/cart 200 12ms", False, False),
)


@pytest.mark.parametrize(("line", "failure", "_read"), LINES)
def test_the_ranking_reads_a_failure_where_the_line_reports_one(
    line: str, failure: bool, _read: bool
) -> None:
    assert bool(FAILURE_WORDS.search(line)) is failure


@pytest.mark.parametrize(("line", "_failure", "read"), LINES)
def test_the_lines_worth_reading_are_the_failures_and_the_warnings(
    line: str, _failure: bool, read: bool
) -> None:
    """Python's `re` in ASCII mode reads the pattern as RE2 does (`\\b` is ASCII in both)."""
    assert bool(re.search(LINES_WORTH_READING, line, re.ASCII)) is read


def test_every_failure_is_worth_reading() -> None:
    """Loki must not drop a line the ranking would have weighed as a failure."""
    assert all(read for _, failure, read in LINES if failure)


@pytest.fixture(scope="module")
def loki() -> Iterator[RealLoki]:
    """Real Loki holding every line of `LINES` in one stream, a millisecond apart."""
    with RealLoki(server_binary("AEGIS_LOKI_BIN", "Loki 3.3.2")) as server:
        now_ns = time.time_ns() - 60 * 10**9
        values = [[str(now_ns + n * 10**6), line] for n, (line, _, _) in enumerate(LINES)]
        server.push(TENANT, [{"stream": {"app": "words"}, "values": values}])
        yield server


def test_real_loki_keeps_exactly_the_lines_worth_reading(loki: RealLoki) -> None:
    query = f'{{app="words"}} {LOKI_LINE_FILTER}'
    params = {"query": query, "limit": "1000", "start": str(time.time_ns() - 3600 * 10**9)}
    params["end"] = str(time.time_ns() + 10**9)
    headers = {"X-Scope-OrgID": TENANT}
    deadline = time.monotonic() + 30
    kept: set[str] = set()
    while time.monotonic() < deadline:
        answer = httpx.get(f"{loki.url}/loki/api/v1/query_range", params=params, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        kept = {line for stream in answer.json()["data"]["result"] for _, line in stream["values"]}
        if kept:
            break
        time.sleep(0.5)
    assert kept == {line for line, _, read in LINES if read}

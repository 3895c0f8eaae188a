"""Worker processes as deployed: replicas share one durable pull consumer, so every question is
answered exactly once whichever replica takes it, and a follow-up taken by another replica finds
the conversation's scope; a replica killed mid-analysis loses nothing; a worker waiting for NATS
is alive but not ready."""

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import httpx
from nats.aio.client import Client

from aegis.devkit.harness.nats_server import NatsServer
from aegis.devkit.harness.waiting import wait_for
from aegis.shared.questions import ReplyTo, TimeWindow
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.asking import Backends, answer_to, ask, progress, question, results
from tests.worker.processes import worker_env, worker_process


async def test_three_replicas_answer_each_question_once_and_share_the_conversation(
    nats_url: str, nats_client: Client, incident: ScenarioTelemetry, backends: Backends, tmp_path: Path
) -> None:
    """12 questions over 3 processes: 12 results, no duplicates, work spread; the follow-up after the
    answering replica left reuses its scope."""
    backends.jaeger.latency_s = 0.05
    env = worker_env(nats_url, backends.urls(), RCA_CONCURRENCY="1")
    workers = [worker_process(env, tmp_path / f"worker-{i}.log").start() for i in range(3)]
    try:
        await asyncio.gather(*(w.ready() for w in workers))
        asked = [question(incident, f"payment errors, report {i}") for i in range(12)]
        for event in asked:
            await ask(nats_client, event)
        await wait_for_results(nats_client, 12)
        stored = await results(nats_client)
        assert sorted(r.request_id for r in stored) == sorted(e.request_id for e in asked)
        counts = [await w.answered() for w in workers]
        assert sum(counts) == 12, counts
        assert sum(1 for c in counts if c) >= 2, counts

        chat = ReplyTo(chat_id="oc_team", message_id="om_root", thread_id="omt_1")
        first = question(
            incident, "checkout is slow", source="feishu", conversation_key="oc_team:om_root", reply_to=chat
        )
        await ask(nats_client, first)
        await answer_to(nats_client, first.request_id, source="feishu")
        after = [await w.answered() for w in workers]
        answering = next(w for w, a, b in zip(workers, after, counts, strict=True) if a > b)
        answering.stop()
        window = TimeWindow(start=first.window.end - timedelta(hours=1), end=first.window.end)
        follow = question(
            incident,
            "what about the last hour?",
            source="feishu",
            conversation_key="oc_team:om_root",
            reply_to=chat,
            window=window,
            window_chosen=True,  # as the gateway reads "the last hour"
        )
        await ask(nats_client, follow)
        answer = await answer_to(nats_client, follow.request_id, source="feishu")
    finally:
        for worker in workers:
            worker.stop()
    scope = next(
        p for p in await progress(nats_client, follow.request_id) if p.step == "scope" and p.status == "done"
    )
    assert scope.message.startswith("checkout and "), scope.message
    assert "last 60 min" in scope.message
    assert "following up on this conversation" in scope.message
    assert answer.reply_to == chat


async def wait_for_results(client: Client, count: int, timeout: float = 60.0) -> None:
    """Until `count` results are stored on aegis.rca.result.cli."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(await results(client)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"fewer than {count} results after {timeout}s"
        await asyncio.sleep(0.2)


async def test_a_worker_killed_mid_analysis_is_replaced_and_the_question_answered_once(
    nats_url: str, nats_client: Client, incident: ScenarioTelemetry, backends: Backends, tmp_path: Path
) -> None:
    """SIGKILL while collecting: after the ack wait a restarted worker takes it; one result, two attempts."""
    backends.jaeger.latency_s = 0.6
    env = worker_env(nats_url, backends.urls(), RCA_ACK_WAIT_S="2")
    first = worker_process(env, tmp_path / "first.log").start()
    second = worker_process(env, tmp_path / "second.log")
    try:
        await first.ready()
        event = question(incident, "payment errors?")
        searches = sum(1 for _, path, _ in backends.jaeger.requests if path == "/api/traces")
        await ask(nats_client, event)
        await wait_for(
            lambda: sum(1 for _, path, _ in backends.jaeger.requests if path == "/api/traces") > searches,
            timeout=30,
            what="the first worker collecting traces",
        )
        first.kill()
        second.start()
        result = await answer_to(nats_client, event.request_id, timeout=60)
        await asyncio.sleep(2.5)  # a second answer, if any, would be stored by now
    finally:
        first.stop()
        second.stop()
    assert [r.request_id for r in await results(nats_client)] == [event.request_id]
    assert not result.failed
    assert result.root_causes[0].service == "payment"
    attempts = [
        p
        for p in await progress(nats_client, event.request_id)
        if p.step == "scope" and p.status == "started"
    ]
    assert len(attempts) == 2


async def test_a_worker_waiting_for_nats_is_live_but_not_ready_until_nats_is_up(
    nats_server: NatsServer, backends: Backends, tmp_path: Path
) -> None:
    """/healthz 200 and /readyz 503 while NATS is down; ready once it is up, without a restart."""
    nats_server.stop()
    with worker_process(worker_env(nats_server.url, backends.urls()), tmp_path / "worker.log") as worker:
        base = f"http://127.0.0.1:{worker.port}"
        async with httpx.AsyncClient() as http:
            await wait_for_status(http, f"{base}/healthz", 200)
            assert (await http.get(f"{base}/readyz")).status_code == 503
            nats_server.start()
            await worker.ready(timeout=30)


async def wait_for_status(http: httpx.AsyncClient, url: str, status: int, timeout: float = 60.0) -> None:
    """Until `url` answers `status`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(url, timeout=1.0)).status_code == status:
                return
        assert asyncio.get_running_loop().time() < deadline, f"{url} never answered {status}"
        await asyncio.sleep(0.2)

"""Bad requests get the 4xx that names the problem, publish nothing, and leave the service serving."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from structlog.testing import capture_logs

from tests.alert_ingest.conftest import (
    JSON,
    WEBHOOK,
    SettingsFactory,
    alert_messages,
    post_webhook,
    running_app,
)
from tests.alert_ingest.payloads import alert, encode, webhook

MIB = 1024 * 1024
TOKEN = "s3cr3t-webhook-token"


def with_alert_field(field: str, value: Any) -> dict[str, Any]:
    document = webhook()
    document["alerts"][0][field] = value
    return document


async def assert_still_serving(client: httpx.AsyncClient, nc: Client, headers: dict[str, str] = JSON) -> None:
    """Nothing was published by the bad request, and a valid webhook afterwards is published."""
    assert await alert_messages(nc) == []
    response = await post_webhook(client, webhook(), headers=headers)
    assert response.status_code == 200, response.text
    assert len(await alert_messages(nc)) == 1


async def test_malformed_json_is_400(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """A body that is not JSON → 400 saying the JSON is malformed."""
    response = await post_webhook(ingest, b'{"version": "4", "alerts": [')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed JSON")
    await assert_still_serving(ingest, nats_client)


async def test_deeply_nested_json_is_a_client_error(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """JSON nested far deeper than any webhook → 4xx, not a crash."""
    response = await post_webhook(ingest, b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code in (400, 422)
    await assert_still_serving(ingest, nats_client)


@pytest.mark.parametrize(
    ("document", "field", "problem"),
    [
        pytest.param(
            {**webhook(), "alerts": "PaymentHighErrorRate"}, "alerts", "array", id="alerts-as-string"
        ),
        pytest.param(
            with_alert_field("startsAt", "yesterday"), "alerts.0.startsAt", "datetime", id="bad-startsAt"
        ),
        pytest.param({**webhook(), "version": "3"}, "version", "'4'", id="version-3"),
        pytest.param({**webhook(), "alerts": []}, "alerts", "at least 1", id="empty-alerts"),
        pytest.param(
            with_alert_field("labels", {"alertname": 7}),
            "alerts.0.labels.alertname",
            "string",
            id="label-int",
        ),
        pytest.param({**webhook(), "groupKey": ""}, "groupKey", "at least 1", id="empty-groupKey"),
        pytest.param(["not", "an", "object"], "(body)", "object", id="array-body"),
    ],
)
async def test_schema_errors_are_422_naming_the_field(
    ingest: httpx.AsyncClient, nats_client: Client, document: Any, field: str, problem: str
) -> None:
    """JSON that is not an Alertmanager v4 webhook → 422 naming the bad field by its camelCase path."""
    response = await post_webhook(ingest, document)

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "invalid Alertmanager webhook"
    named = {error["field"]: error["problem"] for error in body["errors"]}
    assert field in named, body
    assert problem in named[field]
    await assert_still_serving(ingest, nats_client)


async def test_missing_required_fields_are_each_named(ingest: httpx.AsyncClient) -> None:
    """A webhook without status and receiver → 422 listing both."""
    document = webhook()
    del document["status"], document["receiver"]

    response = await post_webhook(ingest, document)

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} >= {"status", "receiver"}


async def test_non_json_content_type_is_415(ingest: httpx.AsyncClient, nats_client: Client) -> None:
    """A Content-Type that is not JSON → 415 naming what is accepted."""
    response = await post_webhook(ingest, webhook(), headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    await assert_still_serving(ingest, nats_client)


async def test_declared_oversized_body_is_413_before_reading(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """Content-Length above the limit → 413 stating the limit, and not one chunk of the body consumed."""
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(12):
            pulled.append(MIB)
            yield b" " * MIB

    async with running_app(ingest_settings()) as client:
        headers = {**JSON, "Content-Length": str(12 * MIB)}
        response = await client.post(WEBHOOK, content=body(), headers=headers)

        assert response.status_code == 413
        assert f"limit of {MIB} bytes" in response.json()["detail"]
        assert response.headers["connection"] == "close"
        assert pulled == []
        await assert_still_serving(client, nats_client)


async def test_chunked_oversized_body_is_413_without_reading_it_all(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """A chunked 12 MB body → 413 once past the limit, having consumed barely more than the limit."""
    chunk = 64 * 1024
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(12 * MIB // chunk):
            pulled.append(chunk)
            yield b" " * chunk

    async with running_app(ingest_settings()) as client:
        response = await client.post(WEBHOOK, content=body(), headers=JSON)

        assert response.status_code == 413
        assert f"limit of {MIB} bytes" in response.json()["detail"]
        assert sum(pulled) <= MIB + chunk
        await assert_still_serving(client, nats_client)


async def test_body_just_under_a_small_limit_is_accepted(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """The limit is WEBHOOK_MAX_BODY_BYTES: a body of exactly that size passes, one byte more does not."""
    body = encode(webhook())
    async with running_app(ingest_settings(webhook_max_body_bytes=len(body))) as client:
        assert (await post_webhook(client, body)).status_code == 200
        assert (await post_webhook(client, body + b" ")).status_code == 413


async def test_event_larger_than_nats_accepts_is_413(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """An event over NATS max_payload (body within a raised limit) → 413 (a retry cannot help), not 503."""
    big = alert()
    big["annotations"]["description"] = "x" * (MIB + 1024)
    async with running_app(ingest_settings(webhook_max_body_bytes=4 * MIB)) as client:
        response = await post_webhook(client, webhook(big))

        assert response.status_code == 413
        assert "more than NATS accepts" in response.json()["detail"]
        await assert_still_serving(client, nats_client)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"],
    ids=["missing", "wrong", "wrong-scheme", "empty", "longer"],
)
async def test_missing_or_wrong_token_is_401(
    ingest_settings: SettingsFactory, nats_client: Client, authorization: str | None
) -> None:
    """With AEGIS_WEBHOOK_TOKEN set, a POST without exactly that bearer token → 401, nothing published."""
    headers = dict(JSON) if authorization is None else {**JSON, "Authorization": authorization}
    async with running_app(ingest_settings(aegis_webhook_token=TOKEN)) as client:
        response = await post_webhook(client, webhook(), headers=headers)

        assert response.status_code == 401
        assert "bearer token" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
        await assert_still_serving(client, nats_client, headers={**JSON, "Authorization": f"Bearer {TOKEN}"})


async def test_token_is_accepted_with_any_scheme_case(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """`bearer <token>` (lower-case scheme, as some clients send) is accepted."""
    async with running_app(ingest_settings(aegis_webhook_token=TOKEN)) as client:
        response = await post_webhook(client, webhook(), headers={**JSON, "Authorization": f"bearer {TOKEN}"})

    assert response.status_code == 200


async def test_health_and_metrics_need_no_token(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """Probes and scrapes work without the webhook token."""
    async with running_app(ingest_settings(aegis_webhook_token=TOKEN)) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_rejections_are_logged_with_reason_and_never_the_token(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """Each refusal logs its reason (and the group, when known); the token never appears in logs."""
    async with running_app(ingest_settings(aegis_webhook_token=TOKEN)) as client:
        auth = {**JSON, "Authorization": f"Bearer {TOKEN}"}
        with capture_logs() as logs:
            await post_webhook(client, webhook(), headers={**JSON, "Authorization": f"Bearer {TOKEN}-nope"})
            await post_webhook(client, {**webhook(), "version": "3"}, headers=auth)

    rejections = [entry for entry in logs if entry["event"] == "webhook rejected"]
    assert [entry["reason"] for entry in rejections] == ["unauthorized", "invalid_payload"]
    assert rejections[1]["group_key"] == webhook()["groupKey"]
    assert rejections[1]["errors"] == [{"field": "version", "problem": "Input should be '4'"}]
    assert TOKEN not in json.dumps(logs, default=str)


async def test_every_rejection_answers_json_with_detail(
    ingest_settings: SettingsFactory, nats_client: Client
) -> None:
    """Whatever the refusal, the body is JSON with a `detail` sentence (what Alertmanager logs)."""
    async with running_app(ingest_settings(aegis_webhook_token=TOKEN)) as client:
        auth = {**JSON, "Authorization": f"Bearer {TOKEN}"}
        answers = [
            await post_webhook(client, webhook(), headers=JSON),
            await post_webhook(client, b"nope", headers=auth),
            await post_webhook(client, {}, headers=auth),
            await post_webhook(client, webhook(), headers={**auth, "Content-Type": "application/xml"}),
        ]

    assert [a.status_code for a in answers] == [401, 400, 422, 415]
    assert all(isinstance(a.json()["detail"], str) and a.json()["detail"] for a in answers)

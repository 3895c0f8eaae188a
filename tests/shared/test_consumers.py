"""The one consumer skeleton: how any outcome of handling becomes ack, retry later or dead letter."""

import pytest
from pydantic import BaseModel, ValidationError

from aegis.shared.asyncapi import CHANNELS
from aegis.shared.consumers import (
    CONSUMERS,
    Ack,
    DeliveryBudget,
    Refused,
    Reject,
    Retry,
    RetryLater,
    judge,
    overdue,
)

BUDGET = DeliveryBudget(max_deliver=3, ack_wait_s=30.0, backoff_s=(1.0, 5.0))


class Shape(BaseModel):
    request_id: int


def schema_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Shape.model_validate({"request_id": "x y"})
    return caught.value


def test_success_is_acked() -> None:
    """A handler that returned: ack."""
    assert judge(None, 1, BUDGET) == Ack()


def test_a_payload_that_fails_its_schema_is_dead_lettered_at_once_naming_the_field() -> None:
    """No retry can fix a bad payload: dead letter on the first delivery, naming the field."""
    outcome = judge(schema_error(), 1, BUDGET)
    assert isinstance(outcome, Reject)
    assert "request_id" in outcome.reason


def test_any_exception_is_retried_with_back_off_then_dead_lettered_with_its_type() -> None:
    """A TypeError (or anything) is retried within the budget, then dead-lettered saying what it was."""
    error = TypeError("can't compare offset-naive and offset-aware datetimes")
    assert judge(error, 1, BUDGET) == Retry(1.0, f"TypeError: {error}")
    assert judge(error, 2, BUDGET) == Retry(5.0, f"TypeError: {error}")
    final = judge(error, 3, BUDGET)
    assert isinstance(final, Reject)
    assert final.reason.startswith("gave up after 3 deliveries: TypeError: can't compare")


def test_a_refusal_is_dead_lettered_and_a_rate_limit_waits_without_spending_the_budget() -> None:
    """Refused → dead letter with its reason; an uncounted RetryLater waits even past the budget."""
    assert judge(Refused("the message was recalled"), 1, BUDGET) == Reject("the message was recalled")
    assert judge(RetryLater("429", 7.0, counted=False), 9, BUDGET) == Retry(7.0, "429")
    assert isinstance(judge(RetryLater("5xx"), 3, BUDGET), Reject)


def test_a_message_delivered_past_its_budget_is_dead_lettered_before_it_is_handled() -> None:
    """Deliveries that ended without an outcome (crashes) count: past the budget, a dead letter."""
    assert overdue(3, BUDGET) is None
    late = overdue(4, BUDGET)
    assert late is not None
    assert "3 deliveries" in late.reason


def test_every_consumer_is_unlimited_on_the_server_and_listed_in_asyncapi() -> None:
    """The skeleton, not JetStream, ends a message's deliveries; each durable is in the AsyncAPI file."""
    described = " ".join(consumer for channel in CHANNELS for consumer in channel.consumers)
    for spec in CONSUMERS:
        assert spec.config().max_deliver == -1
        assert f"({spec.durable}:" in described

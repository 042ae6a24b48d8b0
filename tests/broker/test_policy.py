"""Retry classification, backoff schedules and whose delivery spec applies (no I/O)."""

from __future__ import annotations

import pytest

from tooling.broker.policy import (
    RETRIES_WHEN_SPEC_OMITS,
    RetryPolicy,
    Verdict,
    classify,
    dead_letter_source,
    trigger_delivery,
)
from tooling.manifests import BrokerSpec, DeliverySpec, Destination, TriggerSpec

SINK = Destination(service="dead-letter")


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299, 300, 301, 302, 307, 308])
def test_2xx_and_3xx_are_delivered(status: int) -> None:
    assert classify(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [None, 404, 408, 409, 429, 500, 501, 502, 503, 504, 599])
def test_5xx_some_4xx_and_no_answer_are_retried(status: int | None) -> None:
    assert classify(status) is Verdict.RETRY


@pytest.mark.parametrize("status", [400, 401, 403, 405, 410, 413, 415, 422, 451])
def test_other_4xx_are_rejected_at_once(status: int) -> None:
    assert classify(status) is Verdict.REJECTED


def test_exponential_backoff_doubles_from_twice_the_delay() -> None:
    """sdk-go waits delay * 2^n before retry n (n from 1), so the first wait is 2 x delay."""
    policy = RetryPolicy(5, "exponential", 0.2, 30.0)
    assert policy.schedule() == pytest.approx([0.4, 0.8, 1.6, 3.2, 6.4])


def test_linear_backoff_grows_by_the_delay() -> None:
    policy = RetryPolicy(4, "linear", 0.5, 30.0)
    assert policy.schedule() == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy(1, "linear", 0.1, 1.0).delay_before_retry(0)


def test_no_delivery_spec_means_one_attempt_and_the_default_timeout() -> None:
    policy = RetryPolicy.from_delivery(None, default_timeout=7.0)
    assert (policy.retries, policy.timeout, policy.schedule()) == (0, 7.0, [])


def test_a_spec_without_retry_retries_five_times() -> None:
    policy = RetryPolicy.from_delivery(DeliverySpec(backoff_delay=0.1), default_timeout=30.0)
    assert policy.retries == RETRIES_WHEN_SPEC_OMITS == 5


def test_a_spec_sets_retries_policy_delay_and_timeout() -> None:
    spec = DeliverySpec(retry=3, backoff_policy="linear", backoff_delay=0.3, timeout=2.5)
    assert RetryPolicy.from_delivery(spec, default_timeout=30.0) == RetryPolicy(
        3, "linear", 0.3, 2.5
    )


def test_zero_retries_is_honoured() -> None:
    assert RetryPolicy.from_delivery(DeliverySpec(retry=0), default_timeout=1.0).retries == 0


def _broker(delivery: DeliverySpec | None) -> BrokerSpec:
    return BrokerSpec("default", "ns", "RabbitMQBroker", delivery)


def _trigger(delivery: DeliverySpec | None) -> TriggerSpec:
    return TriggerSpec("t", "default", {}, Destination(service="s"), delivery, 1)


def test_the_triggers_delivery_replaces_the_brokers() -> None:
    broker_spec, trigger_spec = DeliverySpec(retry=5), DeliverySpec(retry=1)
    assert trigger_delivery(_broker(broker_spec), _trigger(trigger_spec)) is trigger_spec
    assert trigger_delivery(_broker(broker_spec), _trigger(None)) is broker_spec
    assert trigger_delivery(_broker(None), _trigger(None)) is None


def test_dead_letters_go_to_the_triggers_sink_else_the_brokers() -> None:
    brokers = DeliverySpec(dead_letter_sink=SINK)
    own = DeliverySpec(dead_letter_sink=Destination(service="other"))
    assert dead_letter_source(_broker(brokers), _trigger(own)) == ("trigger", own)
    assert dead_letter_source(_broker(brokers), _trigger(DeliverySpec(retry=1))) == (
        "broker",
        brokers,
    )
    assert dead_letter_source(_broker(brokers), _trigger(None)) == ("broker", brokers)
    assert dead_letter_source(_broker(DeliverySpec(retry=1)), _trigger(None)) is None

"""When to retry a delivery, how long to wait, and how many times: eventing-rabbitmq's rules.

Sources (knative-extensions/eventing-rabbitmq and its dependencies):
- retryable answers: knative.dev/eventing `pkg/kncloudevents/retries.go` `SelectiveRetry`
  (5xx, 404, 408, 409, 429, and no answer at all); 3xx is not retried and counts as done,
  as the dispatcher (`pkg/dispatcher/dispatcher.go` `getStatus`) treats every
  non-retryable answer as the end of the road.
- waits: the dispatcher hands `MaxRetries` and `BackoffDelay` to cloudevents sdk-go, whose
  `protocol/http/protocol_retry.go` calls `Backoff(ctx, retry+1)`, and `context/retry.go`
  waits `delay * 2^n` (exponential) or `delay * n` (linear) before retry n = 1..retries.
- how many: `pkg/reconciler/trigger/resources/dispatcher.go` sets `RETRY` to the spec's
  `retry`, or 5 when a delivery spec exists without one (eventing-rabbitmq issue #574); with
  no delivery spec at all the dispatcher gets no retries (docs/broker/README.md: "NACK-ed
  and dropped after the first failure").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from tooling.manifests import BrokerSpec, DeliverySpec, Destination, TriggerSpec

RETRIES_WHEN_SPEC_OMITS = 5
_RETRYABLE_4XX = frozenset({404, 408, 409, 429})


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


def classify(status: int | None) -> Verdict:
    """What one attempt's answer means; `None` is a network error or a timeout."""
    if status is None or status >= 500 or status in _RETRYABLE_4XX:
        return Verdict.RETRY
    if status >= 400:
        return Verdict.REJECTED
    return Verdict.DELIVERED


@dataclass(frozen=True)
class RetryPolicy:
    retries: int
    backoff_policy: Literal["exponential", "linear"]
    backoff_delay: float
    timeout: float

    def delay_before_retry(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based), as sdk-go waits."""
        if retry < 1:
            raise ValueError("retries are numbered from 1")
        if self.backoff_policy == "linear":
            return self.backoff_delay * retry
        return self.backoff_delay * 2.0**retry

    def schedule(self) -> list[float]:
        return [self.delay_before_retry(n) for n in range(1, self.retries + 1)]

    @classmethod
    def from_delivery(cls, delivery: DeliverySpec | None, default_timeout: float) -> RetryPolicy:
        if delivery is None:
            return cls(0, "exponential", 0.0, default_timeout)
        retries = RETRIES_WHEN_SPEC_OMITS if delivery.retry is None else delivery.retry
        if retries < 0:
            raise ValueError(f"delivery.retry must not be negative, got {retries}")
        return cls(
            retries=retries,
            backoff_policy=delivery.backoff_policy,
            backoff_delay=delivery.backoff_delay,
            timeout=delivery.timeout if delivery.timeout is not None else default_timeout,
        )


def trigger_delivery(broker: BrokerSpec, trigger: TriggerSpec) -> DeliverySpec | None:
    """A Trigger's own delivery spec replaces the Broker's; else the Broker's applies."""
    return trigger.delivery if trigger.delivery is not None else broker.delivery


def dead_letter_source(broker: BrokerSpec, trigger: TriggerSpec) -> tuple[str, DeliverySpec] | None:
    """Whose dead-letter sink a Trigger's failures go to: its own, else the Broker's.

    eventing-rabbitmq gives a Trigger with its own `deadLetterSink` its own dead-letter
    exchange; every other Trigger queue falls back to the Broker's (a lower-priority policy).
    """
    if trigger.delivery is not None and trigger.delivery.dead_letter_sink is not None:
        return "trigger", trigger.delivery
    if broker.delivery is not None and broker.delivery.dead_letter_sink is not None:
        return "broker", broker.delivery
    return None


def sink_of(delivery: DeliverySpec) -> Destination:
    if delivery.dead_letter_sink is None:
        raise ValueError("delivery spec has no deadLetterSink")
    return delivery.dead_letter_sink

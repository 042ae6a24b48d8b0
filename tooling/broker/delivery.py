"""POSTing an event to a subscriber with retries, the same code for both backends.

Each attempt is one binary-mode request; the answer decides (see `policy.classify`) whether
it is done, retried after the policy's backoff, or given up on at once. The final failure
carries what Knative's dispatcher records for the dead-letter sink.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import event_http, tracecontext, tracing
from shared.metrics import metrics
from tooling.broker.envelope import Envelope, to_binary_http
from tooling.broker.logs import logger
from tooling.broker.policy import RetryPolicy, Verdict, classify

if TYPE_CHECKING:
    from shared.events.identity import TokenSigner
    from tooling.broker.wiring import Credentials

# knative.dev/eventing pkg/channel/attributes: KnativeErrorDataExtensionMaxLength.
ERROR_DATA_MAX_LENGTH = 1024
# knative.dev/eventing pkg/kncloudevents/event_dispatcher.go: a request that got no answer
# is recorded as 500 with the body "dispatch error: <error>".
NO_ANSWER_STATUS = 500


@dataclass(frozen=True)
class Attempt:
    """One POST: the HTTP status (None when no answer came) and the body or error text."""

    status: int | None
    body: bytes
    seconds: float

    @property
    def verdict(self) -> Verdict:
        return classify(self.status)


@dataclass(frozen=True)
class DeliveryResult:
    target: str
    last: Attempt
    attempts: int

    @property
    def delivered(self) -> bool:
        return self.last.verdict is Verdict.DELIVERED


def error_extensions(result: DeliveryResult) -> dict[str, str]:
    """`knativeerrordest`, `knativeerrorcode`, `knativeerrordata` as Knative sets them.

    The data is the last answer's body (or the dispatch error) base64-encoded, the encoded
    text cut at 1,024 characters (event_dispatcher.go `dispatchExecutionInfoTransformers`).
    """
    status = result.last.status if result.last.status is not None else NO_ANSWER_STATUS
    encoded = base64.b64encode(result.last.body).decode("ascii")[:ERROR_DATA_MAX_LENGTH]
    return {
        "knativeerrordest": result.target,
        "knativeerrorcode": str(status),
        "knativeerrordata": encoded,
    }


class Sender:
    """Delivers envelopes, each with a token for its receiver when a signer is given
    (Knative's OIDC), over kept-alive connections per receiving origin (`event_http`)."""

    def __init__(self, signer: TokenSigner | None = None) -> None:
        self._client = event_http.Client()
        self._signer = signer

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(
        self,
        envelope: Envelope,
        url: str,
        seconds: float,
        credentials: Credentials | None = None,
    ) -> Attempt:
        headers, body = to_binary_http(envelope)
        if self._signer is not None and credentials is not None:
            token = self._signer.token(credentials.audience, credentials.subject)
            headers["authorization"] = f"Bearer {token}"
        tracing.inject(headers)  # with the tracer on: the delivery span, child of the event's
        started = time.perf_counter()
        try:
            answer = await self._client.post(url, headers, body, seconds)
        except event_http.NoAnswer as exc:
            detail = f"dispatch error: {exc}".encode()
            return Attempt(None, detail, time.perf_counter() - started)
        return Attempt(answer.status, answer.body, time.perf_counter() - started)

    async def deliver(
        self,
        envelope: Envelope,
        url: str,
        policy: RetryPolicy,
        label: str,
        credentials: Credentials | None = None,
    ) -> DeliveryResult:
        """Attempt once, then up to `policy.retries` more times while the answer is retryable.

        One `cloudevents.deliver` span covers the attempts, in the event's own trace.
        """
        with tracing.span(
            tracing.DELIVER_SPAN,
            resource=label,
            parent=tracecontext.from_headers(envelope.trace),
            kind="client",
            tags=tracing.event_tags(envelope.type, envelope.id, envelope.source, None, None),
        ) as span:
            attempt_number = 0
            while True:
                attempt_number += 1
                attempt = await self.post(envelope, url, policy.timeout, credentials)
                retries_left = policy.retries - (attempt_number - 1)
                wait = policy.delay_before_retry(attempt_number) if retries_left > 0 else 0.0
                _log_attempt(envelope, label, url, attempt, attempt_number, wait)
                if attempt.verdict is not Verdict.RETRY or retries_left <= 0:
                    result = DeliveryResult(url, attempt, attempt_number)
                    span.tag(
                        {
                            "acougue.trigger": label,
                            "acougue.attempts": attempt_number,
                            "acougue.outcome": "delivered" if result.delivered else "failed",
                            "http.status_code": attempt.status,
                        }
                    )
                    if not result.delivered:
                        span.error("DeliveryFailed", f"{label}: status {attempt.status}")
                    return result
                await asyncio.sleep(wait)


def _log_attempt(
    envelope: Envelope, label: str, url: str, attempt: Attempt, number: int, wait: float
) -> None:
    status = attempt.status if attempt.status is not None else "no answer"
    fields = {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "trigger": label,
        "target": url,
        "status": attempt.status,
        "attempt": number,
        "duration_ms": round(attempt.seconds * 1000, 1),
    }
    verdict = attempt.verdict
    outcome = {Verdict.DELIVERED: "delivered", Verdict.RETRY: "retry"}.get(verdict, "rejected")
    if verdict is Verdict.RETRY and wait <= 0:
        outcome = "exhausted"
    tags = {
        "trigger": label,
        "event_type": envelope.type,
        "outcome": outcome,
        "status_class": f"{attempt.status // 100}xx" if attempt.status else "none",
    }
    metrics().increment("broker.deliveries", tags=tags)
    metrics().distribution("broker.delivery.duration", round(attempt.seconds * 1000, 1), tags)
    # One line per attempt, the same words whatever the outcome, so a log search finds both.
    attempt_line = "event %s (%s) via %s: status %s, attempt %d, %.1f ms"
    values = (envelope.id, envelope.type, label, status, number, fields["duration_ms"])
    if verdict is Verdict.DELIVERED:
        logger.info("delivered " + attempt_line, *values, extra=fields)
        return
    if verdict is Verdict.RETRY and wait > 0:
        outcome = f"retrying in {wait:.3g}s"
    elif verdict is Verdict.RETRY:
        outcome = "retries exhausted"
    else:
        outcome = "not retryable"
    logger.warning("failed " + attempt_line + ", %s", *values, outcome, extra=fields)

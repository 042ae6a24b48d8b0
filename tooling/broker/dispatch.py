"""What a Trigger's dispatcher and a dead-letter dispatcher decide, independent of the backend.

The backends only differ in how they hold a message meanwhile (an AMQP delivery left
unacked, or an item in memory) and where a dead letter goes next.
"""

from __future__ import annotations

from shared.metrics import metrics
from tooling.broker.delivery import Sender, error_extensions
from tooling.broker.envelope import Envelope
from tooling.broker.logs import logger
from tooling.broker.wiring import DeadLetterRoute, Route


async def dispatch_to_trigger(sender: Sender, route: Route, envelope: Envelope) -> Envelope | None:
    """Deliver; return the dead letter to file when it failed and the Trigger has a sink.

    With no dead-letter sink a failed event is dropped, as Knative drops it; the ERROR line
    is then the only trace of it.
    """
    result = await sender.deliver(
        envelope, route.subscriber_url, route.policy, route.trigger, route.credentials
    )
    if result.delivered:
        return None
    tags = {"trigger": route.trigger, "event_type": envelope.type, "status": result.last.status}
    if route.dead_letter is None:
        metrics().increment("broker.dropped", tags=tags)
        logger.error(
            "dropped event %s (%s) of trigger %s after %d attempt(s): no deadLetterSink",
            envelope.id,
            envelope.type,
            route.trigger,
            result.attempts,
            extra={
                "event_id": envelope.id,
                "event_type": envelope.type,
                "trigger": route.trigger,
                "status": result.last.status,
                "attempt": result.attempts,
            },
        )
        return None
    metrics().increment("broker.dead_letters", tags=tags)
    return envelope.with_extensions(error_extensions(result))


async def dispatch_dead_letter(sender: Sender, route: DeadLetterRoute, envelope: Envelope) -> bool:
    """POST a dead letter to its sink with its policy; False means keep it, retry later."""
    label = f"dead-letter:{route.scope}/{route.name}"
    result = await sender.deliver(envelope, route.url, route.policy, label, route.credentials)
    if not result.delivered:
        logger.error(
            "dead-letter sink refused event %s (%s) after %d attempt(s): kept for a later retry",
            envelope.id,
            envelope.type,
            result.attempts,
            extra={
                "event_id": envelope.id,
                "event_type": envelope.type,
                "trigger": label,
                "status": result.last.status,
                "attempt": result.attempts,
            },
        )
    return result.delivered

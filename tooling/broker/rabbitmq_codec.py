"""An envelope as an AMQP message, the way eventing-rabbitmq writes it (`pkg/rabbit/message.go`).

CloudEvent attributes and extensions become AMQP headers named without a `ce-` prefix (so a
headers-exchange binding can match them), `data` is the body, the data content type is the
message's content type, and the message is persistent. Trace context rides in the
`traceparent`/`tracestate` headers. On the way back, `x-` headers (RabbitMQ's own, such as
`x-delivery-count`) are not attributes.
"""

from __future__ import annotations

from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractIncomingMessage

from tooling.broker.envelope import REQUIRED_ATTRIBUTES, TRACE_HEADERS, Envelope, attribute_string


class MalformedMessage(ValueError):
    """A queued message that is not a CloudEvent (it cannot be delivered, ever)."""


def to_message(envelope: Envelope) -> Message:
    headers: dict[str, Any] = dict(envelope.attributes)
    headers.update(envelope.trace)
    return Message(
        body=envelope.data,
        headers=headers,
        content_type=envelope.attributes.get("datacontenttype"),
        message_id=envelope.id,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def copy_of(message: AbstractIncomingMessage) -> Message:
    """The same message to publish again elsewhere (moving it between queues): body,
    headers (RabbitMQ's `x-death` history too, but not the old queue's `x-delivery-count`)
    and properties, persistent."""
    headers = {k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"}
    return Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def from_message(message: AbstractIncomingMessage) -> Envelope:
    attributes: dict[str, str] = {}
    trace: dict[str, str] = {}
    for name, value in (message.headers or {}).items():
        text = _text(value)
        if text is None or name.startswith("x-"):
            continue
        if name in TRACE_HEADERS:
            trace[name] = text
        else:
            attributes[name] = text
    if message.content_type and "datacontenttype" not in attributes:
        attributes["datacontenttype"] = message.content_type
    missing = [name for name in REQUIRED_ATTRIBUTES if not attributes.get(name)]
    if missing:
        raise MalformedMessage(
            f"message {message.message_id!r} lacks CloudEvent attributes {missing}"
        )
    return Envelope(attributes, bytes(message.body), trace)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (str, int)):
        return attribute_string(value)
    return None

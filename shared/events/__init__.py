"""CloudEvent envelope and the payload model of every event type, registered by `type`."""

from shared.events.envelope import EVENT_TYPE_PREFIX, Envelope, new_envelope
from shared.events.registry import Payload, event_type, payload_model, registered_types

__all__ = [
    "EVENT_TYPE_PREFIX",
    "Envelope",
    "Payload",
    "event_type",
    "new_envelope",
    "payload_model",
    "registered_types",
]

"""Who may publish what: one table, derived from the event registry.

Knative's EventPolicy is the model: a publisher proves which function it is (its identity
token) and may publish only the types that function owns, under its own `source`. Two
functions forward other functions' events and may publish any registered type, but only
under the `source` of a function that owns it: the outbox relay (it publishes what the
domains wrote to their outboxes) and the dead-letter sink (a replay sends the stored event
again, unchanged). The broker's ingress applies `refusal` to every publish; each subscriber
applies `source_refusal` to every delivery, so a token stolen from one function still
cannot speak for another domain.
"""

from __future__ import annotations

from functools import cache

from shared.events.registry import emitters

SOURCE_PREFIX = "/acougue/"
# Publish other functions' events unchanged: the outbox relay and dead-letter replays.
FORWARDERS = frozenset({"outbox-relay", "dead-letter"})


def source_of(function: str) -> str:
    """The CloudEvent `source` of everything a function emits."""
    return SOURCE_PREFIX + function


@cache
def table() -> dict[str, frozenset[str]]:
    """Event type -> the functions that own it (from `@event_type(..., emitted_by=...)`)."""
    return emitters()


def owners(type_: str) -> frozenset[str]:
    return table().get(type_, frozenset())


def source_refusal(type_: str, source: str) -> str | None:
    """Why an event of this type may not carry this source; None when it may."""
    allowed = owners(type_)
    if not allowed:
        return f"{type_} is not an event type of this shop"
    if source not in {source_of(name) for name in allowed}:
        return f"{source} does not publish {type_}"
    return None


def refusal(publisher: str, type_: str, source: str) -> str | None:
    """Why `publisher` (an authenticated function name) may not publish this event."""
    wrong_source = source_refusal(type_, source)
    if wrong_source is not None:
        return wrong_source
    if publisher in FORWARDERS or source == source_of(publisher):
        return None
    return f"{publisher} may not publish {type_} as {source}"

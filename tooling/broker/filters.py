"""Trigger filters as Knative's `filter.attributes` and a RabbitMQ `x-match: all` binding see them.

Exact, case-sensitive equality on every listed attribute (extensions included); an empty
filter matches every event. The memory backend uses this; RabbitMQ's headers exchange applies
the same rule to the AMQP headers, so both backends route alike.
"""

from __future__ import annotations

from collections.abc import Mapping


def matches(filter_attributes: Mapping[str, str], event_attributes: Mapping[str, str]) -> bool:
    return all(event_attributes.get(name) == value for name, value in filter_attributes.items())

"""Payload models by CloudEvent `type`: the contract between publishers and subscribers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EVENT_TYPE_PREFIX


class Payload(BaseModel):
    """Base of every event payload: immutable; unknown fields are kept out of the contract."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=type[Payload])
_REGISTRY: dict[str, type[Payload]] = {}
_EMITTERS: dict[str, frozenset[str]] = {}


def event_type(name: str, *, emitted_by: str | tuple[str, ...]) -> Callable[[P], P]:
    """Register a payload model as the data of `com.acougue.<name>`, and the functions
    (Knative Service names) that own it: the only ones that may publish it."""
    full = EVENT_TYPE_PREFIX + name
    emitters = frozenset((emitted_by,) if isinstance(emitted_by, str) else emitted_by)
    if not emitters:
        raise ValueError(f"event type {full} has no emitter")

    def register(model: P) -> P:
        if full in _REGISTRY and _REGISTRY[full] is not model:
            raise ValueError(f"event type {full} registered twice")
        _REGISTRY[full] = model
        _EMITTERS[full] = emitters
        model.event_type = full  # type: ignore[attr-defined]
        return model

    return register


def payload_model(type_: str) -> type[Payload] | None:
    _load_all()
    return _REGISTRY.get(type_)


def registered_types() -> dict[str, type[Payload]]:
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def emitters() -> dict[str, frozenset[str]]:
    """Each registered type and the functions that own it (`shared.events.ownership`)."""
    _load_all()
    return dict(sorted(_EMITTERS.items()))


def type_of(model: type[Payload]) -> str:
    name: str = model.event_type  # type: ignore[attr-defined]
    return name


def _load_all() -> None:
    # Importing the catalogue modules registers their models.
    from shared.events import (  # noqa: F401
        auth,
        catalog,
        customers,
        finance,
        inventory,
        payments,
        sales,
        till,
    )

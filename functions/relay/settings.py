"""Settings of the outbox relay: a database role and the broker, no token keys."""

from __future__ import annotations

from pydantic import Field

from shared.config import DatabaseFunctionSettings


class RelaySettings(DatabaseFunctionSettings):
    # Publishing is the relay's whole job: without the broker's address it must not start.
    k_sink: str = Field(min_length=1)

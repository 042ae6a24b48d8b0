"""Events of the finance domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.registry import Payload, event_type


@event_type("ledger.entry.posted", emitted_by="post-ledger-entry")
class LedgerEntryPosted(Payload):
    entry_id: str
    cause: str
    cause_id: str
    occurred_at: datetime
    amount_cents: int = Field(ge=0, description="the entry's total debits (= credits)")
    accounts: list[str]
    reverses: str | None = None

"""Events of the finance domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.registry import Payload, event_type


# Every posting is announced, whichever of finance's functions writes it: the ledger's own
# (events, expenses, corrections), a supplier's bill paid (payables), card money settled
# (receivables). All post through functions/finance/service.post.
@event_type("ledger.entry.posted", emitted_by=("post-ledger-entry", "payables", "receivables"))
class LedgerEntryPosted(Payload):
    entry_id: str
    cause: str
    cause_id: str
    occurred_at: datetime
    amount_cents: int = Field(ge=0, description="the entry's total debits (= credits)")
    accounts: list[str]
    reverses: str | None = None

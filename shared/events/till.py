"""Events of the till (sales domain): what finance posts and sums for the day's closing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.events.sales import Cents


@event_type("till.movement_recorded", emitted_by="till")
class TillMovementRecorded(Payload):
    """Sangria (cash out of the drawer, to the bank) or suprimento (change in)."""

    movement_id: str
    session_id: str
    operator_id: str
    kind: Literal["sangria", "suprimento"]
    amount_cents: Cents = Field(gt=0)
    reason: str = Field(min_length=1, max_length=200)


class Amounts(Payload):
    cash_cents: int
    pix_cents: int
    debit_cents: int
    credit_cents: int


@event_type("till.session_closed", emitted_by="till")
class TillSessionClosed(Payload):
    session_id: str
    operator_id: str
    opened_at: datetime
    closed_at: datetime
    opening_cents: Cents
    expected: Amounts
    counted: Amounts

"""The till part of the HTTP API: each operator's own drawer session (abertura, sangria,
suprimento, fechamento)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.catalog import Strict
from shared.events.sales import MAX_SALE_CENTS

TillStatus = Literal["open", "closed"]


class TillOpenIn(Strict):
    opening_cents: int = Field(ge=0, le=MAX_SALE_CENTS, strict=True, description="the float")


class TillMovementIn(Strict):
    kind: Literal["sangria", "suprimento"]
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS, strict=True)
    reason: str = Field(min_length=1, max_length=200)


class ByMethod(Strict):
    """An amount per method money arrives by (fiado is not in the drawer)."""

    cash_cents: int = Field(ge=0, le=10 * MAX_SALE_CENTS, strict=True)
    pix_cents: int = Field(default=0, ge=0, le=10 * MAX_SALE_CENTS, strict=True)
    debit_cents: int = Field(default=0, ge=0, le=10 * MAX_SALE_CENTS, strict=True)
    credit_cents: int = Field(default=0, ge=0, le=10 * MAX_SALE_CENTS, strict=True)


class TillCloseIn(Strict):
    counted: ByMethod


class AmountsOut(BaseModel):
    cash_cents: int
    pix_cents: int
    debit_cents: int
    credit_cents: int


class TillMovementOut(BaseModel):
    id: UUID
    session_id: UUID
    kind: Literal["sangria", "suprimento"]
    amount_cents: int
    reason: str
    at: datetime
    by: UUID


class TillSessionOut(BaseModel):
    id: UUID
    operator_id: UUID
    operator_name: str | None = None
    status: TillStatus
    opened_at: datetime
    closed_at: datetime | None = None
    opening_cents: int
    expected: AmountsOut = Field(description="what should be there now (or at closing)")
    counted: AmountsOut | None = None
    difference: AmountsOut | None = Field(default=None, description="counted − expected")
    sales_count: int = 0
    movements: list[TillMovementOut] = Field(default_factory=list)

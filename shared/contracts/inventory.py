"""The inventory's part of the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from shared.contracts.catalog import Strict
from shared.units import LineQuantity, Quantity

LossReason = Literal["aparas", "vencimento", "quebra de resfriamento", "avaria", "outro"]


class MovementIn(Strict):
    product_id: UUID
    kind: Literal["receipt", "loss", "count"]
    quantity: LineQuantity = Field(description="receipt/loss: how much; count: what was counted")
    unit_cost_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    lot: str | None = Field(default=None, max_length=40)
    expires_on: date | None = None
    reason: LossReason | None = None
    paid_with: Literal["cash", "bank", "payable"] | None = Field(
        default=None, description="receipt: how the supplier is paid (default: payable)"
    )
    supplier_id: UUID | None = Field(default=None, description="receipt: who it came from")
    due_on: date | None = Field(
        default=None, description="receipt paid_with payable: when the supplier's bill is due"
    )

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        if self.kind == "count":
            if self.quantity < 0:
                raise ValueError("a counted quantity cannot be negative")
        elif self.quantity <= 0:
            raise ValueError("quantity must be positive")
        if self.kind == "receipt" and self.unit_cost_cents is None:
            raise ValueError("a receipt needs unit_cost_cents")
        if self.kind != "receipt" and (
            self.unit_cost_cents is not None
            or self.lot
            or self.expires_on
            or self.paid_with
            or self.supplier_id
            or self.due_on
        ):
            raise ValueError(
                "unit_cost_cents, lot, expires_on, paid_with, supplier_id and due_on are for"
                " receipts"
            )
        if self.due_on is not None and self.paid_with not in (None, "payable"):
            raise ValueError("due_on is for a receipt paid_with payable")
        if self.kind == "loss" and self.reason is None:
            raise ValueError("a loss needs a reason")
        if self.kind != "loss" and self.reason is not None:
            raise ValueError("reason is for losses")
        return self


class MovementOut(BaseModel):
    id: UUID
    product_id: UUID
    kind: str
    quantity: Quantity
    unit_cost_cents: int
    total_cost_cents: int
    balance_after: Quantity
    cause_type: str
    cause_id: str | None
    reason: str | None
    lot: str | None
    expires_on: date | None
    created_at: datetime


class BreakdownOutputIn(Strict):
    product_id: UUID
    quantity: LineQuantity


class BreakdownIn(Strict):
    source_product_id: UUID
    source_quantity: LineQuantity
    outputs: list[BreakdownOutputIn] = Field(min_length=1, max_length=50)
    cost_allocation: Literal["weight", "value"] = "weight"

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        ids = [o.product_id for o in self.outputs]
        if len(set(ids)) != len(ids):
            raise ValueError("each output product appears once")
        if self.source_product_id in ids:
            raise ValueError("the source cannot also be an output")
        return self


class BreakdownOutputOut(BaseModel):
    product_id: UUID
    quantity: Quantity
    unit_cost_cents: int
    total_cost_cents: int


class BreakdownOut(BaseModel):
    id: UUID
    source_product_id: UUID
    source_quantity: Quantity
    yield_percent: Decimal
    loss_quantity: Quantity
    source_cost_cents: int
    cost_allocation: str
    outputs: list[BreakdownOutputOut]


class ExpiringLot(BaseModel):
    lot: str | None
    expires_on: date
    quantity: Quantity


class StockOut(BaseModel):
    product_id: UUID
    name: str | None
    unit: str | None
    quantity: Quantity
    average_cost_cents: int
    min_stock: Quantity
    low: bool
    negative: bool
    expiring: list[ExpiringLot]

"""The counter's part of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from shared.contracts.catalog import Strict
from shared.units import LineQuantity, Quantity
from shared.vocabulary import PaymentMethod, SaleStatus

Method = PaymentMethod


class SaleItemIn(Strict):
    """A line by product and quantity, or by a scanned barcode (EAN-13 or scale label)."""

    product_id: UUID | None = None
    barcode: str | None = Field(default=None, max_length=32)
    quantity: LineQuantity | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.product_id is None) == (self.barcode is None):
            raise ValueError("give either product_id (with quantity) or barcode")
        if self.product_id is not None and self.quantity is None:
            raise ValueError("a line by product_id needs a quantity")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError("quantity must be positive")
        return self


class PaymentIn(Strict):
    method: Method
    installments: int | None = Field(default=None, strict=True)
    cash_received_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    customer_id: UUID | None = Field(
        default=None, description="whose account a fiado sale goes on (fiado only)"
    )

    @model_validator(mode="after")
    def _customer_for_fiado(self) -> Self:
        if (self.method == "fiado") != (self.customer_id is not None):
            raise ValueError("a fiado payment names its customer_id, and only fiado does")
        return self


class SaleIn(Strict):
    items: list[SaleItemIn] = Field(min_length=1, max_length=200)
    discount_cents: int = Field(default=0, ge=0, le=100_000_000, strict=True)
    payment: PaymentIn
    discount_approval: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="an admin's approval (POST /api/auth/approvals, purpose discount) for a"
        " discount above the seller's limit; used once",
    )


class SaleItemOut(BaseModel):
    product_id: UUID
    name: str
    unit: str
    quantity: Quantity
    unit_price_cents: int
    total_cents: int
    barcode: str | None = None


class PixOut(BaseModel):
    payload: str
    txid: str


class PaymentOut(BaseModel):
    method: Method
    status: Literal["pending", "approved", "declined", "refunded"]
    amount_cents: int
    installments: int | None = None
    cash_received_cents: int | None = None
    change_cents: int | None = None
    fee_cents: int | None = None
    reason: str | None = None
    pix: PixOut | None = None


class ReturnItemIn(Strict):
    product_id: UUID
    quantity: LineQuantity

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")
        return self


class ReturnIn(Strict):
    items: list[ReturnItemIn] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=200)


class ReturnItemOut(BaseModel):
    product_id: UUID
    name: str
    quantity: Quantity
    refund_cents: int


class ReturnOut(BaseModel):
    id: UUID
    sale_id: UUID
    at: datetime
    by: UUID
    reason: str
    refund_cents: int
    method: Method
    items: list[ReturnItemOut]


class SaleOut(BaseModel):
    id: UUID
    status: SaleStatus
    seller_id: UUID
    attempt: int
    created_at: datetime
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    items: list[SaleItemOut]
    payment: PaymentOut
    discount_approved_by: UUID | None = Field(
        default=None, description="the admin who approved a discount above the seller's limit"
    )
    customer_id: UUID | None = Field(default=None, description="fiado: whose account")
    customer_name: str | None = None
    till_session_id: UUID | None = Field(
        default=None, description="the seller's open till session when the sale was made"
    )
    returns: list[ReturnOut] = Field(default_factory=list)
    returned_cents: int = Field(default=0, description="refunded by returns so far")

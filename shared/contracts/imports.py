"""The import path beside the API (issue 18): past-dated records, admin only, through the
same functions and events as the live ones, each keeping its original time. What a shop
moving from its old program sends, and what the demo's month of history is made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Self
from uuid import UUID

from pydantic import AwareDatetime, Field, field_validator, model_validator

from shared.contracts.catalog import Strict
from shared.contracts.inventory import BreakdownIn, MovementIn
from shared.units import LineQuantity
from shared.vocabulary import TillMethod

# How far back an import may reach: a shop's old program rarely holds more than five years.
MAX_IMPORT_AGE = timedelta(days=5 * 366)
MAX_IMPORT_SALES = 500
MAX_IMPORT_MOVEMENTS = 500
MAX_IMPORT_BREAKDOWNS = 100
# The CSV of past sales: at most this many bytes per request (about 20,000 item rows).
MAX_IMPORT_CSV_BYTES = 1_000_000


def past_time(value: datetime) -> datetime:
    """A record's original time: in the past, and not before MAX_IMPORT_AGE ago."""
    now = datetime.now(UTC)
    if value > now:
        raise ValueError("occurred_at is in the future: only past records are imported")
    if value < now - MAX_IMPORT_AGE:
        raise ValueError("occurred_at is more than five years ago")
    return value


class ImportedSaleItemIn(Strict):
    product_id: UUID
    quantity: LineQuantity
    unit_price_cents: int = Field(ge=0, le=100_000_000, strict=True, description="then")

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")
        return self


class ImportedPaymentIn(Strict):
    """How the sale was paid then (fiado accounts are not imported)."""

    method: TillMethod
    installments: int | None = Field(default=None, ge=1, le=12, strict=True)

    @model_validator(mode="after")
    def _installments(self) -> Self:
        if self.installments is not None and self.method != "credit":
            raise ValueError("installments are for credit")
        return self


class ImportedSaleIn(Strict):
    legacy_id: str = Field(
        min_length=1,
        max_length=60,
        description="the sale's number in the old program: importing it again is a no-op",
    )
    occurred_at: AwareDatetime
    items: list[ImportedSaleItemIn] = Field(min_length=1, max_length=200)
    discount_cents: int = Field(default=0, ge=0, le=100_000_000, strict=True)
    payment: ImportedPaymentIn

    _past = field_validator("occurred_at")(past_time)


class ImportSalesIn(Strict):
    sales: list[ImportedSaleIn] = Field(min_length=1, max_length=MAX_IMPORT_SALES)


class ImportedMovementIn(MovementIn):
    occurred_at: AwareDatetime

    _past = field_validator("occurred_at")(past_time)


class ImportedBreakdownIn(BreakdownIn):
    occurred_at: AwareDatetime

    _past = field_validator("occurred_at")(past_time)


class ImportStockIn(Strict):
    movements: list[ImportedMovementIn] = Field(
        default_factory=list, max_length=MAX_IMPORT_MOVEMENTS
    )
    breakdowns: list[ImportedBreakdownIn] = Field(
        default_factory=list, max_length=MAX_IMPORT_BREAKDOWNS
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.movements and not self.breakdowns:
            raise ValueError("nothing to import")
        return self

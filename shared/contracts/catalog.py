"""The catalogue's part of the HTTP API (DESIGN.md, "The HTTP API")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.units import Quantity

Unit = Literal["kg", "un"]


def ean13_check_digit(first12: str) -> int:
    """GS1 mod-10: weights 1,3,1,3... from the left over the first 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def valid_ean13(code: str) -> bool:
    # isascii(): str.isdigit() also accepts digits such as "²", which int() refuses.
    return (
        len(code) == 13
        and code.isascii()
        and code.isdigit()
        and ean13_check_digit(code[:12]) == int(code[12])
    )


def _barcode(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not valid_ean13(value):
        raise ValueError("barcode must be a valid EAN-13 (13 digits, correct check digit)")
    return value


def _no_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; refuse it here, as a field error, not a crash."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, dict):
        return {k: _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


class Strict(BaseModel):
    """Request bodies: unknown fields refused, text trimmed, no NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _text_is_storable(cls, data: Any) -> Any:
        return _no_nul(data)


class CategoryIn(Strict):
    name: str = Field(min_length=1, max_length=60)


class CategoryPatch(Strict):
    """Rename or (de)activate; an inactive category takes no new products."""

    name: str | None = Field(default=None, min_length=1, max_length=60)
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self


class CategoryOut(BaseModel):
    id: UUID
    name: str
    active: bool = True


class ProductIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    unit: Unit
    price_cents: int = Field(ge=0, le=100_000_000, strict=True)
    category_id: UUID | None = None
    plu: int | None = Field(default=None, ge=1, le=9999, strict=True)
    barcode: str | None = None
    min_stock: Quantity = Decimal("0.000")

    _check_barcode = field_validator("barcode")(_barcode)

    @field_validator("min_stock")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("min_stock cannot be negative")
        return value


class ProductPatch(Strict):
    """Only the fields present change; `null` clears an optional field."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    unit: Unit | None = None
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    category_id: UUID | None = None
    plu: int | None = Field(default=None, ge=1, le=9999, strict=True)
    barcode: str | None = None
    min_stock: Quantity | None = None
    active: bool | None = None

    _check_barcode = field_validator("barcode")(_barcode)


class ProductOut(BaseModel):
    id: UUID
    name: str
    category_id: UUID | None
    unit: Unit
    price_cents: int
    plu: int | None
    barcode: str | None
    min_stock: Quantity
    active: bool

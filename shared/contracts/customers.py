"""The customers part of the HTTP API: the shop's regulars and their fiado accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator
from stdnum.br import cpf as cpf_number

from shared.contracts.catalog import Strict
from shared.events.sales import MAX_SALE_CENTS
from shared.vocabulary import TillMethod

# The most one customer may owe: R$ 100.000,00 (a restaurant buying for the month).
MAX_CREDIT_LIMIT_CENTS = 10_000_000
NAME_MAX = 120
_PHONE_CHARS = set("0123456789+()- ")


def normal_cpf(value: str | None) -> str | None:
    """The CPF's 11 digits, or None; 422 (a ValueError in the model) for wrong check digits."""
    if value is None or not value.strip():
        return None
    digits = cpf_number.compact(value)
    if not cpf_number.is_valid(digits):
        raise ValueError("CPF inválido: confira os dígitos verificadores")
    return digits


def normal_phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not set(value) <= _PHONE_CHARS or sum(c.isdigit() for c in value) < 8:
        raise ValueError("telefone inválido: use só dígitos, espaços, +, ( ) e -")
    return value.strip()


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    phone: str | None = Field(default=None, max_length=20)
    cpf: str | None = Field(default=None, max_length=14)
    credit_limit_cents: int | None = Field(
        default=None,
        ge=0,
        le=MAX_CREDIT_LIMIT_CENTS,
        strict=True,
        description="how much the customer may owe (fiado); only an admin sets it; 0 if absent",
    )

    @field_validator("cpf")
    @classmethod
    def _cpf(cls, value: str | None) -> str | None:
        return normal_cpf(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normal_phone(value)


class CustomerPatch(Strict):
    """An admin may change the limit and (de)activate; a vendedor only name and phone."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    phone: str | None = Field(default=None, max_length=20)
    credit_limit_cents: int | None = Field(
        default=None, ge=0, le=MAX_CREDIT_LIMIT_CENTS, strict=True
    )
    active: bool | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normal_phone(value)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self


class CustomerOut(BaseModel):
    id: UUID
    name: str
    phone: str | None
    cpf: str | None
    credit_limit_cents: int
    balance_cents: int = Field(description="what the customer owes now")
    available_cents: int = Field(description="limit − balance, never below 0")
    active: bool
    created_at: datetime


EntryKind = Literal["sale", "payment", "refund"]


class StatementEntryOut(BaseModel):
    at: datetime
    kind: EntryKind
    sale_id: UUID | None = None
    amount_cents: int = Field(description="positive: the account goes up (a sale); else down")
    balance_after_cents: int


class StatementOut(BaseModel):
    customer_id: UUID
    name: str
    balance_cents: int
    credit_limit_cents: int
    available_cents: int
    entries: list[StatementEntryOut]


class CustomerPaymentIn(Strict):
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS, strict=True)
    method: TillMethod


class CustomerPaymentOut(BaseModel):
    payment_id: UUID
    customer_id: UUID
    amount_cents: int
    method: TillMethod
    balance_cents: int

"""The suppliers part of the HTTP API: who the shop buys from (issue 18)."""

from __future__ import annotations

from datetime import datetime
from typing import Self
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator
from stdnum.br import cnpj as cnpj_number

from shared.contracts.catalog import Strict
from shared.contracts.customers import normal_phone

SUPPLIER_NAME_MAX = 120


def normal_cnpj(value: str | None) -> str | None:
    """The CNPJ's 14 digits, or None; 422 (a ValueError in the model) for wrong check digits."""
    if value is None or not value.strip():
        return None
    digits = cnpj_number.compact(value)
    if not cnpj_number.is_valid(digits):
        raise ValueError("CNPJ inválido: confira os dígitos verificadores")
    return digits


class SupplierIn(Strict):
    name: str = Field(min_length=1, max_length=SUPPLIER_NAME_MAX)
    cnpj: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = True

    @field_validator("cnpj")
    @classmethod
    def _cnpj(cls, value: str | None) -> str | None:
        return normal_cnpj(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normal_phone(value)


class SupplierPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=SUPPLIER_NAME_MAX)
    cnpj: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    active: bool | None = None

    @field_validator("cnpj")
    @classmethod
    def _cnpj(cls, value: str | None) -> str | None:
        return normal_cnpj(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normal_phone(value)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self


class SupplierOut(BaseModel):
    id: UUID
    name: str
    cnpj: str | None
    phone: str | None
    active: bool
    created_at: datetime

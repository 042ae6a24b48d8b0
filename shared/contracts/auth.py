"""The auth part of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.catalog import Strict
from shared.vocabulary import RoleName


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class ApprovalIn(LoginIn):
    """An admin's credentials, typed at the counter to approve one seller's request."""

    purpose: Literal["discount"]


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class UserIn(Strict):
    username: str = Field(min_length=3, max_length=40)
    password: str = Field(min_length=1, max_length=200)
    role: RoleName
    full_name: str | None = Field(default=None, max_length=120)


class UserPatch(Strict):
    role: RoleName | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=200)
    full_name: str | None = Field(default=None, max_length=120)


class UserOut(BaseModel):
    id: UUID
    username: str
    full_name: str | None
    role: RoleName
    active: bool
    created_at: datetime | None = None

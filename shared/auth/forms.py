"""Request bodies of the auth routes added for issue 14 (kept beside the auth library so
that the gateway and the auth function share them without importing each other)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.catalog import Strict


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class ApprovalIn(Strict):
    """An admin's credentials, typed at the counter to approve one seller's request."""

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    purpose: Literal["discount"]

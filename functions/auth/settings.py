"""Settings of the auth function: it alone holds the private signing key."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pydantic import Field, SecretStr, field_validator

from shared.auth.tokens import load_private_key
from shared.config import FunctionSettings


class AuthSettings(FunctionSettings):
    auth_signing_key: SecretStr
    # The JWKS of keys taken out of signing, kept verifiable until their tokens expire.
    auth_retired_jwks: str | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 86400)
    login_window_seconds: int = Field(default=900, ge=10)
    login_limit_per_username: int = Field(default=10, ge=1)
    login_limit_per_address: int = Field(default=30, ge=1)

    @field_validator("auth_signing_key")
    @classmethod
    def _loads(cls, value: SecretStr) -> SecretStr:
        load_private_key(value.get_secret_value())
        return value

    @field_validator("auth_retired_jwks")
    @classmethod
    def _jwks(cls, value: str | None) -> str | None:
        if value:
            keys = json.loads(value).get("keys")
            if not isinstance(keys, list):
                raise ValueError('AUTH_RETIRED_JWKS must be a JWKS: {"keys": [...]}')
        return value

    def retired_keys(self) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = (
            json.loads(self.auth_retired_jwks)["keys"] if self.auth_retired_jwks else []
        )
        return keys

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(seconds=self.refresh_token_ttl_seconds)

    @property
    def login_window(self) -> timedelta:
        return timedelta(seconds=self.login_window_seconds)

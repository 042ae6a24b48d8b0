"""Settings of the auth function: it alone holds the private signing key."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from shared.auth.tokens import load_private_key
from shared.config import FunctionSettings


class AuthSettings(FunctionSettings):
    auth_signing_key: SecretStr
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=900)

    @field_validator("auth_signing_key")
    @classmethod
    def _loads(cls, value: SecretStr) -> SecretStr:
        load_private_key(value.get_secret_value())
        return value

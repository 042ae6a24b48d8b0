"""Settings of the auth function: it alone holds the private signing key."""

from __future__ import annotations

import ipaddress
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
    # A login's chain of refreshes ends this long after the password was typed, however
    # active it stays: a counter tablet is shared by shifts, so at most one working day.
    session_max_age_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 86400)
    login_window_seconds: int = Field(default=900, ge=10)
    # Free failures of one username from one address, before each try waits twice as long.
    login_limit_per_username: int = Field(default=10, ge=1)
    login_limit_per_address: int = Field(default=30, ge=1)
    login_max_delay_seconds: int = Field(default=900, ge=1, le=86400)
    # Proxies that append the client's address to X-Forwarded-For before auth reads it
    # (locally the gateway alone: 1); entries in TRUSTED_PROXY_NETWORKS to the right of
    # the client are proxies too (knative/services/auth.yaml explains the cluster's).
    trusted_proxy_hops: int = Field(default=1, ge=0, le=10)
    trusted_proxy_networks: str = ""

    @field_validator("trusted_proxy_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in filter(None, (n.strip() for n in value.split(","))):
            ipaddress.ip_network(network, strict=False)
        return value

    def proxy_networks(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.trusted_proxy_networks.split(",") if n.strip())

    @property
    def session_max_age(self) -> timedelta:
        return timedelta(seconds=self.session_max_age_seconds)

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

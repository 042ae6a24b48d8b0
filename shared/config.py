"""Typed settings, one object per function, validated when the function starts.

A function with a missing or malformed setting refuses to start (and says which one),
rather than failing on its first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthVerificationSettings(BaseSettings):
    """How any HTTP function checks an access token: the auth function's public keys."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    auth_jwks_url: str = Field(min_length=1)
    auth_issuer: str = "acougue-auth"
    auth_audience: str = "acougue"


class EventTrustSettings(BaseSettings):
    """How a function proves itself to the broker and checks that a delivery is the broker's.

    `required` (the default, and what the local runner sets): every publish carries a token
    signed with the function's identity key, and every delivery must carry a broker token
    for this function's audience. `off` only where the broker cannot do either: the cluster's
    eventing-rabbitmq at knative-v1.22.1 has no OIDC support (docs/cluster.md, "Who may send
    events"), so its manifests say `off` and rely on the fences described there.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    event_authentication: Literal["required", "off"] = "required"
    event_jwks_url: str | None = None
    event_issuer: str = "acougue-broker"
    event_identity_key_file: Path | None = None
    event_namespace: str = "acougue-system"
    event_broker: str = "default"
    # The broker accepts events of up to 4 MiB; nothing here reads more than that.
    event_max_bytes: int = Field(default=4 * 1024 * 1024, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.event_authentication == "required":
            if not self.event_jwks_url:
                raise ValueError("EVENT_JWKS_URL is required when EVENT_AUTHENTICATION=required")
            if self.event_identity_key_file is None or not self.event_identity_key_file.is_file():
                raise ValueError(
                    "EVENT_IDENTITY_KEY_FILE must name the function's identity key (PEM)"
                    " when EVENT_AUTHENTICATION=required"
                )
        return self


class DatabaseFunctionSettings(EventTrustSettings):
    """What every function with a database role needs: the role, the pool, the broker."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    function_target: str = Field(min_length=1)
    database_url: SecretStr
    k_sink: str | None = None
    # ~20 functions share one PostgreSQL (100 connections by default): 3 each at most.
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=3, ge=1)
    outbox_batch: int = Field(default=100, ge=1)

    publish_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _libpq_dsn(cls, value: SecretStr) -> SecretStr:
        try:
            conninfo_to_dict(value.get_secret_value())
        except Exception:
            raise ValueError("DATABASE_URL is not a PostgreSQL connection string") from None
        return value

    @property
    def function_name(self) -> str:
        """The Knative Service name, e.g. `create-product` for target `create_product`."""
        return self.function_target.replace("_", "-")

    @property
    def source(self) -> str:
        """The CloudEvent `source` of everything this function emits."""
        return f"/acougue/{self.function_name}"


class FunctionSettings(DatabaseFunctionSettings, AuthVerificationSettings):
    """What every function of a domain needs: its database role, the broker, and the keys
    that verify its callers' tokens."""

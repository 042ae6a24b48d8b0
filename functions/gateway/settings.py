"""Settings of the gateway: where each function lives, and how to check tokens."""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.config import AuthVerificationSettings

REQUIRED_SERVICES = (
    "auth",
    "create-category",
    "create-product",
    "update-product",
    "catalog-query",
    "event-log",
    "dead-letter",
    "register-movement",
    "inventory-query",
    "complete-sale",
    "cancel-sale",
    "sales-query",
    "post-ledger-entry",
    "finance-report",
)


class GatewaySettings(AuthVerificationSettings):
    gateway_services: dict[str, str]
    upstream_timeout_seconds: float = Field(default=15.0, gt=0)

    @field_validator("gateway_services")
    @classmethod
    def _complete(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [name for name in REQUIRED_SERVICES if name not in value]
        if missing:
            raise ValueError(f"GATEWAY_SERVICES lacks {', '.join(missing)}")
        return {name: url.rstrip("/") for name, url in value.items()}

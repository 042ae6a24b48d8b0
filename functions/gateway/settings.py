"""Settings of the gateway: where each function lives, how to check tokens, what it bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.config import AuthVerificationSettings
from shared.contracts.endpoints import GATEWAY_UPSTREAMS

# Every function the gateway forwards to, from the endpoints that it serves.
REQUIRED_SERVICES = GATEWAY_UPSTREAMS


# The API's bodies are small JSON documents (a sale of a few hundred lines is ~100 KiB);
# exports are downloads, never uploads. 1 MiB leaves room and bounds an attacker's cost.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class GatewaySettings(AuthVerificationSettings):
    gateway_services: dict[str, str]
    upstream_timeout_seconds: float = Field(default=15.0, gt=0)
    # MAX_BODY_BYTES: larger request bodies get 413 before they are read (the functions
    # read the same variable, so one value bounds both).
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=0)
    # GATEWAY_PUBLIC_DOCS: who gets /docs, /redoc and /openapi.json: everyone (`on`), no
    # one (`off`), or everyone only outside the cluster (`outside-knative`, the default:
    # Knative sets K_SERVICE in every revision's container, the local runner does not; the
    # runner copies the manifest's value, so `off` there would hide the docs locally too).
    gateway_public_docs: Literal["on", "off", "outside-knative"] = "outside-knative"
    k_service: str | None = None

    @property
    def public_docs(self) -> bool:
        """Whether the API's documentation is served to anyone who asks."""
        if self.gateway_public_docs == "outside-knative":
            return self.k_service is None
        return self.gateway_public_docs == "on"

    @field_validator("gateway_services")
    @classmethod
    def _complete(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [name for name in REQUIRED_SERVICES if name not in value]
        if missing:
            raise ValueError(f"GATEWAY_SERVICES lacks {', '.join(missing)}")
        return {name: url.rstrip("/") for name, url in value.items()}

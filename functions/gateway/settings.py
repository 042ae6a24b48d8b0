"""Settings of the gateway: where each function lives, how to check tokens, what it bounds."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from functions.gateway.admission import Limits
from shared.config import AuthVerificationSettings
from shared.contracts.endpoints import GATEWAY_UPSTREAMS

# Every function the gateway forwards to, from the endpoints that it serves.
REQUIRED_SERVICES = GATEWAY_UPSTREAMS


# The API's bodies are small JSON documents (a sale of a few hundred lines is ~100 KiB);
# exports are downloads, never uploads. 1 MiB leaves room and bounds an attacker's cost.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Admission to each function (functions/gateway/admission.py), sized for the shop's 2-core
# PC: a function has 3 database connections (DB_POOL_MAX), so 8 requests in flight keep it
# busy (its CPU work between queries overlaps) while its own hidden queue stays short. A
# line of 32 takes a burst (twenty counters at once) without shedding any, and 2 s is the
# longest a cashier waits in it: past those, 503 + Retry-After at once, and a retry with
# the same Idempotency-Key is safe.
DEFAULT_MAX_IN_FLIGHT = 8
DEFAULT_MAX_WAITING = 32
DEFAULT_MAX_WAIT_SECONDS = 2.0


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
    # GATEWAY_MAX_IN_FLIGHT: requests the gateway lets in flight to one function at once
    # (each function its own count: a flood of sales does not hold up the catalogue).
    gateway_max_in_flight: int = Field(default=DEFAULT_MAX_IN_FLIGHT, ge=1, le=10_000)
    # GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION: JSON, e.g. {"finance-report": 2}: that function's
    # own bound instead of GATEWAY_MAX_IN_FLIGHT.
    gateway_max_in_flight_by_function: dict[str, Annotated[int, Field(ge=1, le=10_000)]] = Field(
        default_factory=dict
    )
    # GATEWAY_MAX_WAITING: requests that may wait for one function's slot; more are shed.
    gateway_max_waiting: int = Field(default=DEFAULT_MAX_WAITING, ge=0, le=100_000)
    # GATEWAY_MAX_WAIT_SECONDS: the longest a request waits for a slot; one that would wait
    # longer (by the function's recent latency) is shed at once.
    gateway_max_wait_seconds: float = Field(
        default=DEFAULT_MAX_WAIT_SECONDS, gt=0, le=60, allow_inf_nan=False
    )

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

    @model_validator(mode="after")
    def _known_functions(self) -> Self:
        unknown = sorted(set(self.gateway_max_in_flight_by_function) - set(self.gateway_services))
        if unknown:
            raise ValueError(
                f"GATEWAY_MAX_IN_FLIGHT_BY_FUNCTION names no function the gateway calls:"
                f" {', '.join(unknown)}"
            )
        return self

    def admission_limits(self) -> dict[str, Limits]:
        """Each function's gate: its bound in flight, the line before it, the longest wait."""
        return {
            name: Limits(
                limit=self.gateway_max_in_flight_by_function.get(name, self.gateway_max_in_flight),
                depth=self.gateway_max_waiting,
                max_wait=self.gateway_max_wait_seconds,
            )
            for name in self.gateway_services
        }

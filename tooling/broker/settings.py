"""The local broker's settings, read from the environment and checked before anything starts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tooling.manifests import REPO_ROOT

_PREFIX_CHARS = re.compile(r"^[A-Za-z0-9._-]*$")


def _env(name: str, field: str) -> AliasChoices:
    """Accept the documented variable and, for code that builds settings, the field name."""
    return AliasChoices(name, field)


class BrokerSettings(BaseSettings):
    """Where the broker listens, which backend it uses and where the subscribers live.

    Without `AMQP_URL` the broker keeps events in memory (like Knative's InMemoryChannel);
    with it, it lays RabbitMQ out as eventing-rabbitmq does.
    """

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    host: str = Field(default="127.0.0.1", validation_alias=_env("BROKER_HOST", "host"))
    port: int = Field(default=8090, ge=1, le=65535, validation_alias=_env("BROKER_PORT", "port"))
    amqp_url: str | None = Field(default=None, validation_alias=_env("AMQP_URL", "amqp_url"))
    service_urls: dict[str, str] = Field(
        default_factory=dict, validation_alias=_env("BROKER_SERVICE_URLS", "service_urls")
    )
    manifests_root: Path = Field(
        default=REPO_ROOT, validation_alias=_env("BROKER_MANIFESTS_ROOT", "manifests_root")
    )
    resource_prefix: str = Field(
        default="", validation_alias=_env("BROKER_RESOURCE_PREFIX", "resource_prefix")
    )
    broker_name: str = Field(default="default", validation_alias=_env("BROKER_NAME", "broker_name"))
    # Per-attempt timeout when the delivery spec sets none (Knative Serving's own request
    # timeout would cut a hung subscriber in the cluster; locally nothing else would).
    default_timeout: float = Field(
        default=30.0, gt=0, validation_alias=_env("BROKER_DEFAULT_TIMEOUT", "default_timeout")
    )
    # How long a dead letter the sink refused waits before it is put back on its queue.
    dead_letter_pause: float = Field(
        default=5.0, gt=0, validation_alias=_env("BROKER_DEAD_LETTER_PAUSE", "dead_letter_pause")
    )
    # How long in-flight deliveries may run on shutdown before they are left for redelivery.
    shutdown_grace: float = Field(
        default=10.0, ge=0, validation_alias=_env("BROKER_SHUTDOWN_GRACE", "shutdown_grace")
    )
    # How long the ingress waits for RabbitMQ's publisher confirm before answering 503.
    publish_timeout: float = Field(
        default=5.0, gt=0, validation_alias=_env("BROKER_PUBLISH_TIMEOUT", "publish_timeout")
    )
    # How long start-up keeps trying to reach RabbitMQ before giving up.
    connect_timeout: float = Field(
        default=15.0, gt=0, validation_alias=_env("BROKER_CONNECT_TIMEOUT", "connect_timeout")
    )
    max_event_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        validation_alias=_env("BROKER_MAX_EVENT_BYTES", "max_event_bytes"),
    )

    # Who may publish (Knative's EventPolicy, locally): `required` checks each publisher's
    # identity token against BROKER_PUBLISHERS_FILE and the ownership table.
    ingress_authentication: Literal["required", "off"] = Field(
        default="required",
        validation_alias=_env("BROKER_INGRESS_AUTHENTICATION", "ingress_authentication"),
    )
    publishers_file: Path | None = Field(
        default=None, validation_alias=_env("BROKER_PUBLISHERS_FILE", "publishers_file")
    )
    # The key that signs delivery tokens (a fresh one per start when not given).
    signing_key_file: Path | None = Field(
        default=None, validation_alias=_env("BROKER_SIGNING_KEY_FILE", "signing_key_file")
    )
    token_issuer: str = Field(
        default="acougue-broker", validation_alias=_env("BROKER_TOKEN_ISSUER", "token_issuer")
    )

    @model_validator(mode="after")
    def _publishers_known(self) -> Self:
        if self.ingress_authentication == "required" and (
            self.publishers_file is None or not self.publishers_file.is_file()
        ):
            raise ValueError(
                "BROKER_PUBLISHERS_FILE must name the publishers' public keys when"
                " BROKER_INGRESS_AUTHENTICATION=required"
            )
        if self.signing_key_file is not None and not self.signing_key_file.is_file():
            raise ValueError(f"BROKER_SIGNING_KEY_FILE is not a file: {self.signing_key_file}")
        return self

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlsplit(value).scheme not in ("amqp", "amqps"):
            raise ValueError(f"AMQP_URL must be an amqp:// or amqps:// URL, got {value!r}")
        return value

    @field_validator("service_urls")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"BROKER_SERVICE_URLS[{name!r}] is not an http(s) URL: {url!r}")
        return value

    @field_validator("manifests_root")
    @classmethod
    def _existing_folder(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"BROKER_MANIFESTS_ROOT is not a folder: {value}")
        return value

    @field_validator("resource_prefix")
    @classmethod
    def _safe_prefix(cls, value: str) -> str:
        if not _PREFIX_CHARS.match(value):
            raise ValueError(
                f"BROKER_RESOURCE_PREFIX may hold only letters, digits, '.', '_', '-': {value!r}"
            )
        return value

    @property
    def backend_kind(self) -> str:
        return "rabbitmq" if self.amqp_url else "memory"

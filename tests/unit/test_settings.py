"""A function with a missing or malformed setting refuses to start, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from functions.gateway.settings import GatewaySettings
from shared.config import FunctionSettings


def _function_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What every function is given besides its database."""
    monkeypatch.setenv("FUNCTION_TARGET", "create_product")
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")


@pytest.mark.parametrize(
    ("database_url", "named"), [(None, "database_url"), ("host=x port=notaport =", "DATABASE_URL")]
)
def test_a_missing_or_malformed_database_url_is_named(
    monkeypatch: pytest.MonkeyPatch, database_url: str | None, named: str
) -> None:
    _function_env(monkeypatch)
    if database_url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(ValidationError, match=named):
        FunctionSettings()


def test_function_names_follow_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_AUTHENTICATION", "off")
    _function_env(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    settings = FunctionSettings()
    assert (settings.function_name, settings.source) == (
        "create-product",
        "/acougue/create-product",
    )
    assert "postgresql://u@localhost/db" not in repr(settings)


def test_gateway_needs_every_function_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
    monkeypatch.setenv("GATEWAY_SERVICES", '{"auth": "http://auth"}')
    with pytest.raises(ValidationError, match="catalog-query"):
        GatewaySettings()


def test_event_authentication_needs_the_brokers_keys_and_an_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On by default: a function that could not check deliveries or prove itself to the
    broker refuses to start, naming what is missing."""
    _function_env(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    with pytest.raises(ValidationError, match="EVENT_JWKS_URL"):
        FunctionSettings()
    monkeypatch.setenv("EVENT_JWKS_URL", "http://broker/.well-known/jwks.json")
    with pytest.raises(ValidationError, match="EVENT_IDENTITY_KEY_FILE"):
        FunctionSettings()
    key = tmp_path / "create-product.pem"
    key.write_text("x")
    monkeypatch.setenv("EVENT_IDENTITY_KEY_FILE", str(key))
    assert FunctionSettings().event_authentication == "required"

"""A function with a missing or malformed setting refuses to start, naming it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.gateway.settings import GatewaySettings
from shared.config import FunctionSettings


def test_missing_database_url_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FUNCTION_TARGET", "create_product")
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
    with pytest.raises(ValidationError, match="database_url"):
        FunctionSettings()


def test_malformed_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCTION_TARGET", "create_product")
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
    monkeypatch.setenv("DATABASE_URL", "host=x port=notaport =")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        FunctionSettings()


def test_function_names_follow_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCTION_TARGET", "create_product")
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/.well-known/jwks.json")
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

"""Schemathesis against the gateway's own OpenAPI: whatever a client sends, as the
contract describes it or slightly off, the answer is never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from tests.support.fixtures import system_fixture
from tests.support.system import RunningSystem

EXAMPLES_PER_OPERATION = 25


fuzzed = system_fixture("fuzz")


def test_no_request_the_contract_allows_gets_a_server_error(fuzzed: RunningSystem) -> None:
    raw: dict[str, Any] = httpx.get(fuzzed.gateway + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    token = fuzzed.admin_token()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "fuzz"}
    failures: list[str] = []
    operations = calls = 0
    with httpx.Client(base_url=fuzzed.gateway, headers=headers, timeout=30) as client:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the gateway's OpenAPI is invalid: {result}"
            operation = result.ok()
            if operation.path in ("/api/auth/logout", "/api/auth/login"):
                continue  # logging in at random only feeds the rate limiter
            operations += 1

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            @given(
                case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
                | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
            )
            def call(case: Any) -> None:
                nonlocal calls
                calls += 1
                kwargs = case.as_transport_kwargs(base_url=fuzzed.gateway)
                answer = client.request(
                    kwargs["method"],
                    kwargs["url"],
                    params=kwargs.get("params"),
                    json=kwargs.get("json"),
                    headers={**headers, **(kwargs.get("headers") or {})},
                )
                if answer.status_code >= 500:
                    failures.append(f"{case.method} {kwargs['url']} -> {answer.status_code}")

            call()
    assert operations >= 30
    assert calls >= operations * 5  # Hypothesis really generated requests for each one
    assert failures == [], failures[:5]

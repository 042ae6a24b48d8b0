"""Body bounds, security headers and the docs switch, in process (issue 14); the same
attacks through a running system are in tests/e2e/attacks/test_http_edges.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from functions.gateway import edge
from functions.gateway.settings import REQUIRED_SERVICES, GatewaySettings
from shared.contracts.endpoints import Endpoint
from shared.contracts.queries import EventsQuery
from shared.errors import Problem
from shared.http import HttpFunction, RequestContext, Route
from shared.runtime import Runtime

LIMIT = 1000
# A public endpoint of a test function: the body guards run before any token check.
NOTES = Endpoint("POST", "/notes", "notes", None, "notes", "Notes")


class Note(BaseModel):
    text: str


def _function(reads: list[int]) -> TestClient:
    """An HTTP function whose one public route reads its body; `reads` counts chunks."""

    async def echo(ctx: RequestContext) -> dict[str, Any]:
        note = await ctx.body(Note)
        return {"length": len(note.text)}

    fn = HttpFunction(cast(Runtime, None), [Route(NOTES, echo)], max_body_bytes=LIMIT)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            reads.append(len(message.get("body", b"")))
            return message

        response = await fn(Request(scope, counting))
        await response(scope, receive, send)

    return TestClient(app)


def _chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_a_function_refuses_a_declared_large_body_without_reading_it() -> None:
    reads: list[int] = []
    answer = _function(reads).post("/notes", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert reads == []


async def test_a_function_stops_reading_a_chunked_body_at_the_limit() -> None:
    chunks = _chunks(100 * LIMIT)
    read: list[int] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, b"")
        read.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    async def echo(ctx: RequestContext) -> dict[str, Any]:
        await ctx.body(Note)
        return {}

    fn = HttpFunction(cast(Runtime, None), [Route(NOTES, echo)], max_body_bytes=LIMIT)
    scope = {"type": "http", "method": "POST", "path": "/notes", "headers": [], "query_string": b""}
    answer = await fn(Request(scope, receive))
    assert answer.status_code == 413
    assert sum(read) <= LIMIT + 100  # one chunk past the limit, not 100 000 bytes


def test_a_function_still_reads_a_body_within_the_limit() -> None:
    answer = _function([]).post("/notes", json={"text": "picanha"})
    assert answer.status_code == 200
    assert answer.json() == {"length": 7}


def test_a_whole_number_parameter_written_with_a_superscript_is_a_422() -> None:
    request = Request({"type": "http", "query_string": b"limit=%C2%B2", "headers": []})
    context = RequestContext(request, cast(Runtime, None), {}, None)
    with pytest.raises(Problem) as refused:
        context.query(EventsQuery)
    assert refused.value.status == 422
    assert refused.value.errors is not None
    assert refused.value.errors[0]["loc"] == ["limit"]


def _gateway_like(checked: list[str]) -> TestClient:
    async def check(request: Request) -> None:
        checked.append(request.url.path)
        if request.url.path == "/private" and "authorization" not in request.headers:
            raise Problem(401, "Authentication required.")

    async def private(request: Request) -> JSONResponse:
        return JSONResponse({"size": len(await request.body())})

    async def as_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # the gateway's own handler does the same
        return Problem(exc.status_code, exc.detail).response()

    app = Starlette(
        routes=[StarletteRoute("/private", private, methods=["POST"])],
        exception_handlers={HTTPException: as_problem},
    )
    guarded = edge.SecurityHeaders(edge.BodyGuard(app, limit=LIMIT, check=check))
    return TestClient(guarded)


def test_the_gateway_checks_the_caller_before_the_body_and_bounds_it() -> None:
    checked: list[str] = []
    client = _gateway_like(checked)
    anonymous = client.post("/private", content=b"{not json")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    large = client.post("/private", content=b"x" * (LIMIT + 1), headers={"Authorization": "x"})
    assert large.status_code == 413
    chunked = client.post("/private", content=_chunks(10 * LIMIT), headers={"Authorization": "x"})
    assert chunked.status_code == 413
    assert chunked.headers["content-type"] == "application/problem+json"
    ok = client.post("/private", content=b"x" * LIMIT, headers={"Authorization": "x"})
    assert ok.json() == {"size": LIMIT}
    for answer in (anonymous, large, chunked, ok):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert answer.headers["referrer-policy"] == "same-origin"


def test_a_page_keeps_its_own_content_security_policy() -> None:
    async def page(_: Request) -> JSONResponse:
        return JSONResponse({}, headers={"Content-Security-Policy": "default-src 'self'"})

    app = edge.SecurityHeaders(Starlette(routes=[StarletteRoute("/", page)]))
    answer = TestClient(app).get("/")
    assert answer.headers.get_list("content-security-policy") == ["default-src 'self'"]


@pytest.mark.parametrize(
    ("setting", "k_service", "public"),
    [
        (None, None, True),
        (None, "gateway", False),
        ("outside-knative", "gateway", False),
        ("on", "gateway", True),
        ("off", None, False),
    ],
)
def test_the_docs_are_public_only_outside_knative_by_default(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, k_service: str | None, public: bool
) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", "http://auth/jwks")
    monkeypatch.setenv("GATEWAY_SERVICES", "{}")
    for name, value in (("GATEWAY_PUBLIC_DOCS", setting), ("K_SERVICE", k_service)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    services = dict.fromkeys(REQUIRED_SERVICES, "http://x")
    assert GatewaySettings(gateway_services=services).public_docs is public

"""What the gateway checks before any route runs, as plain ASGI middleware.

FastAPI reads and parses a route's JSON body *before* it runs the route's dependencies,
so without this an anonymous caller made the gateway hold (and parse) any body it sent
before the 401. Here, in order: a declared Content-Length over the limit is refused
before a byte is read; a route that needs a user gets its token checked before its body
is read; a chunked body is cut off as soon as it passes the limit. Every answer is
problem+json. FastAPI's own `max_body_size` is not used: it answers text/plain and
replaces any answer (even a 401) for a request that declares a large body.

Every response also gets the security headers a browser needs to refuse sniffing a JSON
or CSV answer as HTML, leaking the address in a Referer, or framing a page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from re import Pattern
from typing import Any, Generic, TypeVar

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth.tokens import KeysUnavailable
from shared.errors import Problem

V = TypeVar("V")

# Only what cannot break a page: the UI's own pages set a full CSP (ui.SECURITY_HEADERS),
# which wins; /docs loads Swagger UI from a CDN with an inline script, so it gets only
# frame-ancestors.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Check = Callable[[Request], Awaitable[None]]


def too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than the {limit} bytes allowed.")


class BodyTooLarge(HTTPException):
    """Raised from `receive` past the limit: an HTTPException, so that FastAPI's body
    parser lets it through and the app's handler answers it as problem+json."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit).detail)
        self.limit = limit


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


async def _answer(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
    await problem.response()(scope, receive, send)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyGuard:
    """Bounds request bodies to `limit` bytes, after `check(request)` (the route's token
    and role check, raising Problem) has passed, so no anonymous body is ever read."""

    def __init__(self, app: ASGIApp, *, limit: int, check: Check) -> None:
        self.app = app
        self.limit = limit
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared < 0:
            await _answer(Problem(400, "Content-Length must be a number."), scope, receive, send)
            return
        if declared is not None and declared > self.limit:
            await _answer(too_large(self.limit), scope, receive, send)
            return
        try:
            await self.check(Request(scope, receive))
        except Problem as problem:
            await _answer(problem, scope, receive, send)
            return
        except KeysUnavailable:
            unavailable = Problem(503, "Cannot verify tokens right now; try again.")
            await _answer(unavailable, scope, receive, send)
            return

        received = 0
        started = False

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive_with_limit, send_tracking)
        except BodyTooLarge:
            if started:
                raise
            await _answer(too_large(self.limit), scope, receive, send)


class GuardedRoutes(Generic[V]):
    """The guards of the route a request with a body reaches: the route's dependencies
    found in `guards` (a guard function -> what it lets through).

    Read from the app's own route table, so a route added later with a guard is covered
    without a second list to keep in step. Only methods that carry a body are looked up:
    FastAPI parses no body for the others, and their guard runs as a dependency anyway.
    """

    def __init__(
        self, routes: Callable[[], list[BaseRoute]], guards: Mapping[Callable[..., Any], V]
    ) -> None:
        self._routes = routes
        self._guards = guards
        self._table: list[tuple[Pattern[str], frozenset[str], list[V]]] = []
        self._built_from = -1

    def _rows(self) -> list[tuple[Pattern[str], frozenset[str], list[V]]]:
        routes = self._routes()
        if len(routes) != self._built_from:  # routes are only ever added
            self._table = [
                (route.path_regex, frozenset(route.methods or ()), self._of(route))
                for route in routes
                if isinstance(route, Route)
            ]
            self._built_from = len(routes)
        return self._table

    def _of(self, route: Route) -> list[V]:
        dependant = getattr(route, "dependant", None)
        calls = [d.call for d in getattr(dependant, "dependencies", [])]
        return [self._guards[call] for call in calls if call in self._guards]

    def __call__(self, scope: Scope) -> list[V]:
        method = scope["method"]
        if method not in BODY_METHODS:
            return []
        path = scope["path"]
        for regex, methods, guards in self._rows():
            if method in methods and regex.match(path):
                return guards
        return []  # no route: 404 or 405, and no body is read

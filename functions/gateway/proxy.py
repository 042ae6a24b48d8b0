"""Forwarding a browser's request to the function that owns it."""

from __future__ import annotations

import http.cookiejar
import urllib.request

import httpx
from starlette.requests import Request
from starlette.responses import Response

from functions.gateway.admission import Admission
from shared import tracing
from shared.auth.guard import ACCESS_COOKIE
from shared.errors import Problem

FORWARDED_REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "idempotency-key",
    "traceparent",
    "tracestate",
    "x-request-id",
)
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "retry-after",
    "www-authenticate",
    "allow",
    "cache-control",
    "idempotent-replayed",
    "content-disposition",
)
# Only the auth function reads cookies (the refresh token's path is /api/auth).
COOKIE_READERS = frozenset({"auth"})


class _KeepNoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


_NO_COOKIES = http.cookiejar.CookieJar(policy=_KeepNoCookies())


class Upstreams:
    def __init__(
        self, services: dict[str, str], timeout: float, admission: Admission | None = None
    ) -> None:
        self._services = services
        self._admission = admission
        # The admission bounds the requests in flight; httpx's own pool (100 connections
        # for every function together, waiting up to `timeout` for one) would be a second,
        # hidden line behind it, so it is unbounded when an admission is given.
        limits = (
            httpx.Limits(max_connections=None, max_keepalive_connections=admission.total_limit)
            if admission is not None
            else httpx.Limits()
        )
        # No cookie jar: the gateway is shared by every browser, and a jar would hand one
        # browser's session cookie (e.g. the refresh token) to the next request.
        self._client = httpx.AsyncClient(timeout=timeout, cookies=_NO_COOKIES, limits=limits)

    async def forward(self, request: Request, service: str) -> Response:
        """The same method, path, query and body, to the function; its answer, as it is.
        Past the function's capacity, 503 with Retry-After, and nothing is sent to it."""
        body = await request.body()  # read before a slot is taken: a slow client holds none
        if self._admission is None:
            return await self._send(request, service, body)
        async with self._admission.slot(service):
            return await self._send(request, service, body)

    async def _send(self, request: Request, service: str, body: bytes) -> Response:
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_REQUEST_HEADERS}
        token = request.cookies.get(ACCESS_COOKIE)
        if token and "authorization" not in headers:
            headers["authorization"] = f"Bearer {token}"
        if service in COOKIE_READERS and "cookie" in request.headers:
            headers["cookie"] = request.headers["cookie"]
        client = request.client.host if request.client else "unknown"
        prior = request.headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{prior}, {client}" if prior else client
        headers["x-forwarded-proto"] = request.headers.get("x-forwarded-proto", request.url.scheme)
        tracing.inject(headers)  # tracer on: the function continues the gateway's span
        url = self._services[service] + request.url.path
        try:
            upstream = await self._client.request(
                request.method,
                url,
                params=httpx.QueryParams(str(request.query_params)),
                content=body,
                headers=headers,
            )
        except httpx.TimeoutException:
            raise Problem(504, f"The {service} function did not answer in time.") from None
        except httpx.HTTPError:
            raise Problem(503, f"The {service} function is unavailable; try again.") from None
        response = Response(
            upstream.content,
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k in FORWARDED_RESPONSE_HEADERS},
        )
        for cookie in upstream.headers.get_list("set-cookie"):
            response.headers.append("set-cookie", cookie)
        return response

    async def get_json(self, service: str, path: str) -> httpx.Response:
        return await self._client.get(self._services[service] + path)

    async def aclose(self) -> None:
        await self._client.aclose()

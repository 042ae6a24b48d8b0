"""HTTP functions: a small route table behind one functions-framework target.

Every HTTP function answers through here, so each one (not only the gateway) checks the
caller's token and role, speaks problem+json, and never shows a stack trace. The same
entry point answers the health probes. No periodic source calls an HTTP function: the
outbox relay (`functions/relay`) sweeps every domain's outbox, so these scale to zero.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from re import Pattern
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import to_jsonable_python
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.convertors import Convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path

from shared import tracecontext, tracing
from shared.auth.guard import authenticate, authorize
from shared.auth.principal import Principal, Role
from shared.auth.tokens import KeysUnavailable
from shared.contracts.endpoints import IDEMPOTENCY_KEY_MAX, Endpoint
from shared.db.uow import UnitOfWork
from shared.domain_errors import Refused
from shared.errors import Problem, http_problem, invalid_json_problem, validation_problem
from shared.metrics import metrics
from shared.runtime import Runtime

log = logging.getLogger("acougue.http")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Result = Response | BaseModel | dict[str, Any] | list[Any]
Handler = Callable[["RequestContext"], Awaitable[Result]]
# The API's bodies are small JSON documents; a larger one is refused before it is read,
# so that no caller (authenticated or not) can make a function hold megabytes.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyLimit(BaseSettings):
    """MAX_BODY_BYTES: the largest request body an HTTP function reads (413 beyond)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=0)


def too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than the {limit} bytes allowed.")


def declared_length(request: Request) -> int | None:
    """The Content-Length the client declares (the server enforces it), or None (chunked)."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise Problem(400, "Content-Length must be a whole number of bytes.")
    return int(raw)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes: 413 at once when Content-Length says
    more, or as soon as a chunked body passes the limit, so memory never holds more."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class RequestContext:
    request: Request
    runtime: Runtime
    params: dict[str, Any]
    principal: Principal | None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def user(self) -> Principal:
        if self.principal is None:  # a route without roles never asks for the user
            raise Problem(401, "Authentication required.")
        return self.principal

    def query(self, model: type[M]) -> M:
        """The query string as the endpoint's query model (the gateway validated the same
        model already); an empty value counts as absent; 422 naming each bad parameter."""
        given = {k: v for k, v in self.request.query_params.items() if v != ""}
        try:
            return model.model_validate(given)
        except ValidationError as exc:
            raise validation_problem(exc) from None

    def optional_idempotency_key(self) -> str | None:
        """The Idempotency-Key header, trimmed, or None: 400 when longer than
        IDEMPOTENCY_KEY_MAX or holding a NUL."""
        key = self.request.headers.get("idempotency-key", "").strip()
        if not key:
            return None
        if len(key) > IDEMPOTENCY_KEY_MAX or "\x00" in key:
            raise Problem(
                400, f"The Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX} characters."
            )
        return key

    def idempotency_key(self) -> str:
        """As `optional_idempotency_key`, and 400 when absent."""
        key = self.optional_idempotency_key()
        if key is None:
            raise Problem(400, "The Idempotency-Key header is required: one key per request.")
        return key

    async def body(self, model: type[M]) -> M:
        """The JSON body as `model`: 413 past the limit (nothing more is read), 422 if bad."""
        raw = await read_body(self.request, self.max_body_bytes)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            raise invalid_json_problem() from None
        if not isinstance(data, dict):
            raise Problem(422, "The request body must be a JSON object.")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise validation_problem(exc) from None

    async def command(self, run: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run a command in one unit of work and commit it: all of it or, on any error,
        none of it."""
        async with await self.unit_of_work() as uow:
            result = await run(uow)
            await uow.commit()
        return result

    async def unit_of_work(self) -> UnitOfWork:
        return await self.runtime.unit_of_work(
            actor=self.principal.user_id if self.principal else None
        )


@dataclass(frozen=True)
class Route:
    """An endpoint (declared once, in `shared.contracts.endpoints`) and what serves it."""

    endpoint: Endpoint
    handler: Handler
    _regex: Pattern[str] = field(init=False, repr=False, compare=False)
    _convertors: dict[str, Convertor[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, _, convertors = compile_path(self.endpoint.path)
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_convertors", convertors)

    @property
    def method(self) -> str:
        return self.endpoint.method

    @property
    def path(self) -> str:
        return self.endpoint.path

    @property
    def roles(self) -> frozenset[Role] | None:
        return self.endpoint.roles

    @property
    def status(self) -> int:
        return self.endpoint.status

    def match(self, path: str) -> dict[str, Any] | None:
        found = self._regex.match(path)
        if not found:
            return None
        return {k: self._convertors[k].convert(v) for k, v in found.groupdict().items()}


class HttpFunction:
    def __init__(
        self, runtime: Runtime, routes: Iterable[Route], *, max_body_bytes: int | None = None
    ) -> None:
        self.runtime = runtime
        self.routes = list(routes)
        served_by = {route.endpoint.function for route in self.routes}
        if len(served_by) > 1:  # one Knative Service per HttpFunction
            raise ValueError(f"One function's routes name several functions: {served_by}")
        # Read when the function starts, so a malformed MAX_BODY_BYTES stops it at once.
        self.max_body_bytes = (
            BodyLimit().max_body_bytes if max_body_bytes is None else max_body_bytes
        )

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        tracecontext.set_current(tracecontext.from_headers(request.headers))
        try:
            response = await self._dispatch(request)
        except Problem as problem:
            response = problem.response()
        except Refused as refusal:
            response = http_problem(refusal).response()
        except KeysUnavailable:
            log.warning("token keys unavailable", exc_info=True)
            response = Problem(503, "Cannot verify tokens right now; try again.").response()
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            log.warning("database unavailable", exc_info=True)
            response = Problem(503, "The database is unavailable; try again.").response()
        except psycopg.DataError:
            # Input that passed validation but that PostgreSQL cannot store (a value out of
            # range...): the caller's to fix, and never a 500.
            log.warning("database refused a value", exc_info=True)
            response = Problem(422, "A value is out of the range the shop can store.").response()
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = Problem(500, "Something went wrong on our side.").response()
        probe = request.url.path in tracing.PROBE_ROUTES
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        if not probe:
            _observe(request, response.status_code, duration_ms)
        log.log(
            logging.DEBUG if probe else logging.INFO,
            "%s %s %d",
            request.method,
            request.url.path,
            response.status_code,
            extra={
                "duration_ms": duration_ms,
                "status": response.status_code,
                "actor": getattr(request.state, "actor", None),
            },
        )
        return response

    async def _dispatch(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        if "\x00" in path or any("\x00" in v for v in request.query_params.values()):
            raise Problem(422, "The address must not contain NUL characters.")
        declared = declared_length(request)
        if declared is not None and declared > self.max_body_bytes:
            raise too_large(self.max_body_bytes)  # before any token check: costs nothing
        entry = tracing.entry_span()
        if path in tracing.PROBE_ROUTES:
            entry.tag({"http.route": path})
            if path == "/readyz":
                await self.runtime.ready()
                return JSONResponse({"status": "ready"})
            return JSONResponse({"status": "ok"})
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            request.state.route = route.path
            entry.set_resource(f"{method} {route.path}")
            entry.tag({"http.route": route.path})
            principal = await self._authorize(request, route)
            context = RequestContext(request, self.runtime, params, principal, self.max_body_bytes)
            return _render(await route.handler(context), route.status)
        if allowed:
            raise Problem(
                405, f"{method} is not allowed here.", headers={"Allow": ", ".join(allowed)}
            )
        raise Problem(404, f"No such resource: {path}")

    async def _authorize(self, request: Request, route: Route) -> Principal | None:
        if route.roles is None:
            return None
        principal = await authenticate(self.runtime.verifier, request.headers, request.cookies)
        request.state.actor = principal.user_id
        authorize(principal, route.roles)
        return principal


def _observe(request: Request, status: int, duration_ms: float) -> None:
    """Metrics of one request; the first of the process is its cold start."""
    route = getattr(request.state, "route", "unmatched")
    kind = "http"
    tags = {
        "kind": kind,
        "route": f"{request.method} {route}",
        "status_class": f"{status // 100}xx",
    }
    sink = metrics()
    sink.increment("requests", tags=tags)
    sink.distribution("request.duration", duration_ms, tags)
    if sink.first_request(kind):
        tracing.entry_span().tag({tracing.COLD_START_TAG: "true"})


def _render(result: Result, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return JSONResponse(result.model_dump(mode="json"), status_code=status)
    return JSONResponse(to_jsonable_python(result), status_code=status)


def is_delivery(request: Request) -> bool:
    """A CloudEvent delivered by the broker (POST /), as opposed to an API request, for
    functions that are both a subscriber and an HTTP endpoint."""
    return request.method == "POST" and request.url.path == "/"

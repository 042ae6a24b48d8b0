"""The gateway's /api routes, built from the one declaration of each endpoint
(`shared.contracts.endpoints`): path, method, roles, body, query and the function that
serves it. Each route validates what the endpoint declares (so the OpenAPI document is the
public contract), checks the roles, and forwards the request unchanged to its function,
which checks the token and the roles again itself."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from inspect import Parameter, Signature
from typing import Annotated, Any
from uuid import UUID

from fastapi import Body, FastAPI, Header, Query, Request
from starlette.responses import Response
from starlette.routing import compile_path

from functions.gateway.proxy import Upstreams
from shared.auth.principal import Role
from shared.contracts.endpoints import IDEMPOTENCY_KEY_MAX, PUBLIC_ENDPOINTS, Endpoint

# What a path convertor means as a parameter type (Starlette's names).
_CONVERTOR_TYPES: dict[str, type] = {"uuid": UUID, "str": str, "int": int}


def _parameters(endpoint: Endpoint) -> list[Parameter]:
    """What FastAPI validates and documents for the endpoint, as a signature."""
    keyword = Parameter.KEYWORD_ONLY
    found = [Parameter("request", Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    for name, kind in endpoint.path_params.items():
        found.append(Parameter(name, keyword, annotation=_CONVERTOR_TYPES[kind]))
    if endpoint.body is not None:
        found.append(Parameter("body", keyword, annotation=Annotated[endpoint.body, Body()]))
    if endpoint.query is not None:
        found.append(Parameter("query", keyword, annotation=Annotated[endpoint.query, Query()]))
    if endpoint.idempotency_key:
        header = Header(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)
        found.append(Parameter("idempotency_key", keyword, annotation=Annotated[str, header]))
    return found


def forwarder(endpoint: Endpoint, upstreams: Upstreams) -> Callable[..., Awaitable[Response]]:
    """A route function that forwards to the endpoint's function once FastAPI has checked
    what the signature declares."""

    async def forward(request: Request, **_: Any) -> Response:
        return await upstreams.forward(request, endpoint.function)

    forward.__signature__ = Signature(_parameters(endpoint), return_annotation=Response)  # type: ignore[attr-defined]
    forward.__name__ = re.sub(r"\W+", "_", endpoint.summary.lower()).strip("_")
    forward.__doc__ = endpoint.summary
    return forward


def add_api_routes(
    app: FastAPI, upstreams: Upstreams, guard: Callable[[frozenset[Role]], Any]
) -> None:
    """Every public endpoint as a route; `guard(roles)` is the role check's dependency."""
    for endpoint in PUBLIC_ENDPOINTS:
        app.add_api_route(
            endpoint.public_path,
            forwarder(endpoint, upstreams),
            methods=[endpoint.method],
            status_code=endpoint.status,
            tags=[endpoint.tag],
            summary=endpoint.summary,
            dependencies=[guard(endpoint.roles)] if endpoint.roles is not None else [],
        )


class FunctionOf:
    """The function a request goes to, from the method and path alone (None: no endpoint),
    matched as the routes are: in the declarations' order, HEAD as GET."""

    def __init__(self, endpoints: Iterable[Endpoint] = PUBLIC_ENDPOINTS) -> None:
        self._table = [(compile_path(e.public_path)[0], e.method, e.function) for e in endpoints]

    def __call__(self, method: str, path: str) -> str | None:
        method = "GET" if method == "HEAD" else method
        for regex, declared, function in self._table:
            if declared == method and regex.match(path):
                return function
        return None

"""A recording CloudEvent sink: a real HTTP endpoint that stands in for the broker ingress."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingSink:
    received: list[Received] = field(default_factory=list)
    status: int = 202
    delay: float = 0.0

    async def _receive(self, request: Request) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status < 300:
            self.received.append(Received(dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    def ids(self) -> list[str]:
        return [r.headers["ce-id"] for r in self.received]

"""A real function for the scaler's tests: served by shared.server like every function,
it answers any path (the runner's /healthz probe included), after `?seconds=` if asked,
and counts its requests."""

from __future__ import annotations

import asyncio
import os

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import JSONResponse

SERVED = {"requests": 0}


@functions_framework.aio.http
async def answer(request: Request) -> JSONResponse:
    SERVED["requests"] += 1
    await asyncio.sleep(min(float(request.query_params.get("seconds", "0")), 10.0))
    return JSONResponse({"pid": os.getpid(), "requests": SERVED["requests"]})

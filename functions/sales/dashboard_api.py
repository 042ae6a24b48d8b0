"""The dashboard function (GET /api/dashboard, admin): the sales figures from the sales
schema, and the stock and the open bills asked of inventory-query and payables over HTTP
with the caller's own token, all three at once.

A source that does not answer in time (down, scaled to zero for longer than the timeout,
an error, an answer not shaped as expected) costs its figures only: they are null and the
source is named in `unavailable`, and the owner still sees the day. The sales figures are
the function's own; without its database it answers 503 as every function does.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import urllib.request
from typing import TypeVar

import httpx
from pydantic import BaseModel, Field, ValidationError, field_validator

from functions.sales import dashboard, dashboard_store
from functions.sales.dashboard import DashboardOut
from shared import shop_time
from shared.auth.guard import bearer_token
from shared.config import FunctionSettings
from shared.contracts import endpoints as api
from shared.contracts.queries import DashboardQuery
from shared.http import HttpFunction, RequestContext, Route
from shared.runtime import Runtime

log = logging.getLogger("acougue.dashboard")
M = TypeVar("M", bound=BaseModel)
# inventory-query's "expiring" lots: those expiring within this many days (or expired).
EXPIRING_WITHIN_DAYS = 3
# The payables list's largest page; a longer list is not summed (its total would be short).
PAYABLES_PAGE = 1000


class DashboardSettings(FunctionSettings):
    """Where the dashboard asks for the stock and the open bills (knative/services/
    dashboard.yaml; the runner rewrites the cluster addresses to local ones), and how long
    it waits for each. Missing or malformed: the function does not start."""

    inventory_query_url: str = Field(min_length=1)
    payables_url: str = Field(min_length=1)
    # Short: the owner's page must not hang on a function that is slow to wake.
    dashboard_upstream_timeout_seconds: float = Field(default=2.0, gt=0, le=10)

    @field_validator("inventory_query_url", "payables_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http(s) base URL such as http://inventory-query")
        return value.rstrip("/")


class _KeepNoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


class Upstreams:
    """inventory-query and payables, asked with the caller's Authorization header."""

    def __init__(
        self,
        inventory_url: str,
        payables_url: str,
        *,
        timeout: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.inventory_url = inventory_url.rstrip("/")
        self.payables_url = payables_url.rstrip("/")
        # No cookie jar: one caller's cookies must never reach the next one's request;
        # only the forwarded Authorization header speaks for the caller.
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            cookies=http.cookiejar.CookieJar(policy=_KeepNoCookies()),
        )

    @classmethod
    def from_settings(cls, settings: DashboardSettings) -> Upstreams:
        return cls(
            settings.inventory_query_url,
            settings.payables_url,
            timeout=settings.dashboard_upstream_timeout_seconds,
        )

    async def _get(
        self, source: str, url: str, params: dict[str, str | int], auth: str, model: type[M]
    ) -> M | None:
        """The source's answer as `model`, or None (logged) when it gives none in time."""
        try:
            answer = await self._client.get(url, params=params, headers={"authorization": auth})
        except httpx.HTTPError as exc:
            log.warning("dashboard: %s unavailable: %s", source, type(exc).__name__)
            return None
        if answer.status_code != 200:
            log.warning("dashboard: %s unavailable: answered %d", source, answer.status_code)
            return None
        try:
            return model.model_validate_json(answer.content)
        except ValidationError:
            log.warning("dashboard: %s unavailable: its answer is not the expected list", source)
            return None

    async def stock(self, auth: str) -> dashboard.StockFigures | None:
        found = await self._get(
            "inventory",
            self.inventory_url + api.STOCK_LEVELS.path,
            {"expiring_within_days": EXPIRING_WITHIN_DAYS},
            auth,
            dashboard.StockList,
        )
        return dashboard.stock_figures(found) if found is not None else None

    async def open_payables_cents(self, auth: str) -> int | None:
        found = await self._get(
            "payables",
            self.payables_url + api.LIST_PAYABLES.path,
            {"status": "open", "limit": PAYABLES_PAGE},
            auth,
            dashboard.PayablesList,
        )
        if found is None:
            return None
        if len(found.items) >= PAYABLES_PAGE:
            log.warning("dashboard: payables unavailable: %d or more open bills", PAYABLES_PAGE)
            return None
        return dashboard.open_payables_cents(found)

    async def aclose(self) -> None:
        await self._client.aclose()


def routes(upstreams: Upstreams) -> list[Route]:
    async def _dashboard(ctx: RequestContext) -> DashboardOut:
        day = dashboard.check_day(ctx.query(DashboardQuery).day or shop_time.today())
        # The token this request was let in with (header, or the browser's cookie).
        auth = f"Bearer {bearer_token(ctx.request.headers, ctx.request.cookies) or ''}"
        stock = asyncio.create_task(upstreams.stock(auth))
        payables = asyncio.create_task(upstreams.open_payables_cents(auth))
        try:
            async with await ctx.unit_of_work() as uow:
                own = await dashboard_store.figures(uow.conn, day, dashboard.TOP_PRODUCTS)
        except BaseException:  # the database's 503 is the answer: stop asking the others
            stock.cancel()
            payables.cancel()
            raise
        return dashboard.compose(day, own, await stock, await payables)

    return [Route(api.DASHBOARD, _dashboard)]


class _LazyUpstreams(Upstreams):
    """Upstreams whose settings are read at the first request: what another sales function's
    process holds (it imports main.py too, but is never asked for the dashboard)."""

    def __init__(self) -> None:
        self._real: Upstreams | None = None

    def _get_real(self) -> Upstreams:
        if self._real is None:
            self._real = Upstreams.from_settings(DashboardSettings())
        return self._real

    async def stock(self, auth: str) -> dashboard.StockFigures | None:
        return await self._get_real().stock(auth)

    async def open_payables_cents(self, auth: str) -> int | None:
        return await self._get_real().open_payables_cents(auth)

    async def aclose(self) -> None:
        if self._real is not None:
            await self._real.aclose()


def build(
    runtime: Runtime, settings: DashboardSettings | None = None, *, at_start: bool = True
) -> HttpFunction:
    """The dashboard's HTTP function. `at_start`: its settings are read (and checked) now, so
    a dashboard with a bad URL stops at start; otherwise at its first request."""
    if at_start:
        upstreams = Upstreams.from_settings(settings or DashboardSettings())
    else:
        upstreams = _LazyUpstreams()
    return HttpFunction(runtime, routes(upstreams))

"""process-payment: the simulated acquirer and bank, fired by the sale's events and by
the bank's (scheduled) notice that a PIX charge was paid."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.payments import service
from functions.payments.settings import PaymentSettings
from shared.db.uow import UnitOfWork
from shared.errors import Problem
from shared.events.envelope import Envelope
from shared.events.payments import PixReceived
from shared.events.registry import Payload
from shared.events.sales import PaymentRequest, SaleCancelled
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import Subscriber

settings = PaymentSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


async def _charge(uow: UnitOfWork, event: Envelope, payload: Payload | None) -> None:
    assert isinstance(payload, PaymentRequest)
    await service.charge(uow, payload, settings)


async def _cancelled(uow: UnitOfWork, event: Envelope, payload: Payload | None) -> None:
    assert isinstance(payload, SaleCancelled)
    await service.cancel(uow, payload)


async def _pix_received(uow: UnitOfWork, event: Envelope, payload: Payload | None) -> None:
    assert isinstance(payload, PixReceived)
    try:
        await service.pix_received(uow, payload)
    except service.UnknownCharge as exc:
        raise Problem(422, str(exc)) from None


_events = Subscriber(
    runtime,
    {
        "com.acougue.sale.completed": _charge,
        "com.acougue.sale.payment_requested": _charge,
        "com.acougue.sale.cancelled": _cancelled,
        "com.acougue.payment.pix_received": _pix_received,
    },
)


@functions_framework.aio.http
async def process_payment(request: Request) -> Response:
    return await _events(request)

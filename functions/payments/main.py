"""process-payment: the simulated acquirer and bank, fired by the sale's events and by
the bank's (scheduled) notice that a PIX charge was paid."""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response

from functions.payments import service
from functions.payments.settings import PaymentSettings
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.payments import PixReceived
from shared.events.sales import (
    PaymentRequest,
    SaleCancelled,
    SaleCompleted,
    SalePaymentRequested,
)
from shared.logs import configure_logging
from shared.runtime import Runtime
from shared.subscriber import On, Subscriber

settings = PaymentSettings()
configure_logging(settings.function_name)
runtime = Runtime(settings)


async def _charge(uow: UnitOfWork, event: Envelope, payload: PaymentRequest) -> None:
    if service.paid_elsewhere(event):
        return
    await service.charge(uow, payload, settings)


_events = Subscriber(
    runtime,
    [
        On(SaleCompleted, _charge),
        On(SalePaymentRequested, _charge),
        On.applying(SaleCancelled, service.cancel),
        On.applying(PixReceived, service.pix_received),
    ],
)


@functions_framework.aio.http
async def process_payment(request: Request) -> Response:
    return await _events(request)

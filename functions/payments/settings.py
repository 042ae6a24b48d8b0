"""Settings of process-payment: the shop's PIX identity, card fees, the simulated bank."""

from __future__ import annotations

from pydantic import Field

from shared.config import FunctionSettings


class PaymentSettings(FunctionSettings):
    pix_key: str = Field(min_length=1, max_length=77)
    pix_merchant_name: str = Field(min_length=1)
    pix_merchant_city: str = Field(min_length=1)
    # Seconds before the simulated bank confirms a PIX charge (0: at once). A delayed
    # confirmation is a scheduled `payment.pix_received` event that the outbox relay
    # publishes once due and the Broker delivers back to process-payment.
    pix_confirm_delay_seconds: int = Field(default=0, ge=0, le=3600)
    # The acquirer's fee per card payment, in basis points (1/100 of a percent).
    debit_fee_bps: int = Field(default=99, ge=0, le=2000)
    credit_fee_bps: int = Field(default=299, ge=0, le=2000)

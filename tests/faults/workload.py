"""A counter selling through the gateway, as a real POS does: one Idempotency-Key per
sale, retried (same key) on a network error or 5xx until the sale is accepted."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from functions.sales.domain import line_total as _line_total

METHODS = ("pix", "cash", "debit", "credit")


def line_total(quantity: str, price: int) -> int:
    return _line_total(Decimal(quantity), price)


@dataclass(frozen=True)
class Accepted:
    sale_id: str
    total_cents: int
    method: str
    lines: int

    @property
    def expect_paid(self) -> bool:
        return not (self.method in ("debit", "credit") and self.total_cents % 100 == 13)


@dataclass
class Workload:
    gateway: str
    token: str
    products: list[tuple[str, int]]  # (product id, price in centavos)
    accepted: list[Accepted] = field(default_factory=list)
    retries: int = 0
    gave_up: int = 0

    def _body(self, n: int) -> dict[str, Any]:
        method = METHODS[n % len(METHODS)]
        first = self.products[n % len(self.products)][0]
        second = self.products[(n + 1) % len(self.products)][0]
        # Quantities chosen so that some card totals end in ,13 (declined by the rule).
        items = [
            {"product_id": first, "quantity": f"{1 + n % 3}.{(n * 137) % 1000:03d}"},
            {"product_id": second, "quantity": "1.000"},
        ]
        payment: dict[str, Any] = {"method": method}
        if method == "cash":
            payment["cash_received_cents"] = 1_000_000
        if method == "credit":
            payment["installments"] = 1 + n % 12
        discount = n % 7
        if method == "debit" and n % 8 == 2:
            # Every other debit sale is made to end in ,13: the acquirer declines it.
            subtotal = line_total(items[0]["quantity"], self._price(first)) + self._price(second)
            discount = (subtotal - 13) % 100
        return {"items": items, "payment": payment, "discount_cents": discount}

    def _price(self, product_id: str) -> int:
        return next(price for pid, price in self.products if pid == product_id)

    def sell(self, count: int, *, pause: float = 0.05, deadline: float = 120.0) -> None:
        with httpx.Client(
            base_url=self.gateway, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        ) as client:
            for n in range(count):
                key, body = str(uuid.uuid4()), self._body(len(self.accepted) + n)
                give_up_at = time.monotonic() + deadline
                while True:
                    try:
                        answer = client.post(
                            "/api/sales", json=body, headers={"Idempotency-Key": key}
                        )
                    except httpx.HTTPError:
                        answer = None
                    if answer is not None and answer.status_code == 201:
                        sale = answer.json()
                        self.accepted.append(
                            Accepted(sale["id"], sale["total_cents"], body["payment"]["method"], 2)
                        )
                        break
                    if (
                        answer is not None
                        and answer.status_code < 500
                        and answer.status_code != 429
                    ):
                        raise AssertionError(f"sale refused: {answer.status_code} {answer.text}")
                    if time.monotonic() > give_up_at:
                        self.gave_up += 1
                        break
                    self.retries += 1
                    time.sleep(0.25)
                time.sleep(pause)

    def sell_in_background(self, count: int, **kwargs: Any) -> threading.Thread:
        thread = threading.Thread(target=self.sell, args=(count,), kwargs=kwargs, daemon=True)
        thread.start()
        return thread

"""Events of the inventory domain."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.units import Quantity

MovementKind = Literal[
    "receipt", "loss", "count", "breakdown_out", "breakdown_in", "sale", "refund"
]


class Cause(Payload):
    type: Literal["sale", "breakdown", "manual"]
    id: str | None


@event_type(
    "inventory.movement.registered", emitted_by=("register-movement", "apply-sale-to-stock")
)
class MovementRegistered(Payload):
    """One change of one product's stock, with what it cost (the ledger posts from it)."""

    movement_id: str
    product_id: str
    kind: MovementKind
    quantity: Quantity = Field(description="signed: positive into stock, negative out")
    unit_cost_cents: int = Field(ge=0, description="average cost per unit, rounded")
    total_cost_cents: int = Field(description="signed value of the movement, exact in centavos")
    balance_after: Quantity
    cause: Cause
    reason: str | None = None
    lot: str | None = None
    expires_on: date | None = None
    paid_with: Literal["cash", "bank", "payable"] | None = None
    supplier_id: str | None = Field(default=None, description="receipt: who it came from")
    due_on: date | None = Field(
        default=None, description="receipt paid_with payable: when the supplier's bill is due"
    )


@event_type("inventory.stock.low", emitted_by=("register-movement", "apply-sale-to-stock"))
class StockLow(Payload):
    product_id: str
    name: str
    quantity: Quantity
    min_stock: Quantity


@event_type("inventory.supplier.saved", emitted_by="suppliers")
class SupplierSaved(Payload):
    """A supplier as inventory holds it, after a create or a change (finance names bills)."""

    supplier_id: str
    name: str = Field(min_length=1, max_length=120)
    cnpj: str | None = Field(default=None, pattern=r"^\d{14}$")
    active: bool
    version: int = Field(ge=1, description="+1 per change: read models keep the newest")

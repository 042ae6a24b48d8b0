"""Events of the catalogue domain."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.events.registry import Payload, event_type


class ProductState(Payload):
    """A product as the catalogue holds it; enough for a read model to act alone."""

    product_id: str
    name: str = Field(min_length=1, max_length=120)
    unit: Literal["kg", "un"]
    price_cents: int = Field(ge=0)
    category_id: str | None
    plu: int | None = Field(ge=1, le=9999)
    barcode: str | None = Field(pattern=r"^\d{13}$")
    min_stock: str = Field(pattern=r"^-?\d+\.\d{3}$", description="3-place decimal in the unit")
    active: bool
    version: int = Field(
        ge=1,
        description="the product's version in the catalogue (1 when created, +1 per update);"
        " read models apply a state only when it is newer than theirs",
    )


@event_type("product.created", emitted_by="create-product")
class ProductCreated(ProductState):
    pass


@event_type("product.updated", emitted_by="update-product")
class ProductUpdated(ProductState):
    changed: list[str] = Field(description="names of the fields this update changed")


@event_type("category.created", emitted_by="create-category")
class CategoryCreated(Payload):
    category_id: str
    name: str = Field(min_length=1, max_length=60)


@event_type("category.updated", emitted_by="update-category")
class CategoryUpdated(Payload):
    category_id: str
    name: str = Field(min_length=1, max_length=60)
    active: bool
    changed: list[str] = Field(description="names of the fields this update changed")

"""The catalogue's commands: each writes the change and its event in one unit of work."""

from __future__ import annotations

import uuid
from uuid import UUID

from functions.catalog import domain, store
from shared.contracts.catalog import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from shared.db.uow import UnitOfWork
from shared.domain_errors import Invalid, NotFound
from shared.events.catalog import CategoryCreated, CategoryUpdated, ProductCreated, ProductUpdated


async def create_category(uow: UnitOfWork, body: CategoryIn) -> CategoryOut:
    category = CategoryOut(id=uuid.uuid4(), name=body.name)
    await store.insert_category(uow.conn, category)
    await uow.emit(
        CategoryCreated(category_id=str(category.id), name=category.name),
        subject=str(category.id),
    )
    return category


async def update_category(uow: UnitOfWork, category_id: UUID, patch: CategoryPatch) -> CategoryOut:
    """The category after the patch; its event only when a field changed. A name another
    category has (in any case) is 409, from the unique index."""
    current = await store.get_category(uow.conn, category_id, for_update=True)
    if current is None:
        raise NotFound("No such category.")
    updated, changed = domain.apply_category_patch(current, patch)
    if changed:
        await store.update_category(uow.conn, updated)
        await uow.emit(
            CategoryUpdated(
                category_id=str(updated.id),
                name=updated.name,
                active=updated.active,
                changed=changed,
            ),
            subject=str(updated.id),
        )
    return updated


async def _category_takes_products(uow: UnitOfWork, category_id: UUID | None) -> None:
    """A product may be put in an active category only (422 otherwise)."""
    if category_id is None:
        return
    active = await store.category_takes_products(uow.conn, category_id)
    if active is None:
        raise Invalid("No such category.")
    if not active:
        raise Invalid("This category is inactive: it takes no products.")


async def create_product(uow: UnitOfWork, body: ProductIn) -> ProductOut:
    await _category_takes_products(uow, body.category_id)
    product = ProductOut(id=uuid.uuid4(), active=True, **body.model_dump())
    await store.insert_product(uow.conn, product)
    await uow.emit(ProductCreated(**domain.product_state(product, 1)), subject=str(product.id))
    return product


async def update_product(uow: UnitOfWork, product_id: UUID, patch: ProductPatch) -> ProductOut:
    """The product after the patch; a new version and its event only when a field changed."""
    current = await store.get_product(uow.conn, product_id, for_update=True)
    if current is None:
        raise NotFound("No such product.")
    updated, changed = domain.apply_patch(current, patch)
    if "category_id" in changed:  # moving into a category; staying in one is always fine
        await _category_takes_products(uow, updated.category_id)
    if changed:
        version = await store.update_product(uow.conn, updated)
        await uow.emit(
            ProductUpdated(**domain.product_state(updated, version), changed=changed),
            subject=str(product_id),
        )
    return updated

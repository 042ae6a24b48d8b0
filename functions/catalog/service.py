"""The catalogue's commands: each writes the change and its event in one unit of work."""

from __future__ import annotations

import uuid
from uuid import UUID

from functions.catalog import domain, store
from shared.contracts.catalog import CategoryIn, CategoryOut, ProductIn, ProductOut, ProductPatch
from shared.db.uow import UnitOfWork
from shared.domain_errors import NotFound
from shared.events.catalog import CategoryCreated, ProductCreated, ProductUpdated


async def create_category(uow: UnitOfWork, body: CategoryIn) -> CategoryOut:
    category = CategoryOut(id=uuid.uuid4(), name=body.name)
    await store.insert_category(uow.conn, category)
    await uow.emit(
        CategoryCreated(category_id=str(category.id), name=category.name),
        subject=str(category.id),
    )
    return category


async def create_product(uow: UnitOfWork, body: ProductIn) -> ProductOut:
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
    if changed:
        version = await store.update_product(uow.conn, updated)
        await uow.emit(
            ProductUpdated(**domain.product_state(updated, version), changed=changed),
            subject=str(product_id),
        )
    return updated

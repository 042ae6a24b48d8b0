"""Catalogue rules, free of I/O."""

from __future__ import annotations

import unicodedata
from typing import Any

from shared.contracts.catalog import CategoryOut, CategoryPatch, ProductOut, ProductPatch
from shared.domain_errors import Invalid
from shared.events.catalog import ProductState
from shared.units import format_quantity


class CatalogError(Invalid):
    """A change the catalogue's rules refuse; the message is for the user."""


def fold(text: str) -> str:
    """Lower-case without accents, so that "coracao" matches "Coração"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def apply_patch(product: ProductOut, patch: ProductPatch) -> tuple[ProductOut, list[str]]:
    """The product after the patch, and the names of the fields that really changed."""
    changes: dict[str, Any] = {}
    for name in sorted(patch.model_fields_set):
        value = getattr(patch, name)
        if name in ("name", "unit", "price_cents", "min_stock", "active") and value is None:
            raise CatalogError(f"{name} cannot be null")
        if getattr(product, name) != value:
            changes[name] = value
    return product.model_copy(update=changes), sorted(changes)


def apply_category_patch(
    category: CategoryOut, patch: CategoryPatch
) -> tuple[CategoryOut, list[str]]:
    """The category after the patch, and the names of the fields that really changed (a
    rename that only changes case is a change; the same name is not)."""
    changes: dict[str, Any] = {}
    for name in sorted(patch.model_fields_set):
        value = getattr(patch, name)
        if value is None:
            raise CatalogError(f"{name} cannot be null")
        if getattr(category, name) != value:
            changes[name] = value
    return category.model_copy(update=changes), sorted(changes)


def product_state(product: ProductOut, version: int) -> dict[str, Any]:
    """The fields every product event carries, as the event contract spells them; the
    version orders the read models (an event's time is not to be trusted)."""
    return ProductState(
        product_id=str(product.id),
        name=product.name,
        unit=product.unit,
        price_cents=product.price_cents,
        category_id=str(product.category_id) if product.category_id else None,
        plu=product.plu,
        barcode=product.barcode,
        min_stock=format_quantity(product.min_stock),
        active=product.active,
        version=version,
    ).model_dump()

"""Catalogue rules and the API's input models."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.catalog.domain import apply_patch, fold, product_state
from shared.contracts.catalog import (
    ProductIn,
    ProductOut,
    ProductPatch,
    ean13_check_digit,
    valid_ean13,
)
from shared.units import format_quantity, parse_quantity


@pytest.mark.parametrize("code", ["7891000315507", "4006381333931", "2123400123457"])
def test_known_ean13_codes_are_valid(code: str) -> None:
    assert valid_ean13(code)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 9))
def test_exactly_one_check_digit_completes_twelve_digits(first12: str, digit: int) -> None:
    assert valid_ean13(first12 + str(digit)) == (digit == ean13_check_digit(first12))


@pytest.mark.parametrize(
    "code", ["789100031550²", "７８９１０００３１５５０７", "789100031550", "7891000315507 "]
)
def test_malformed_codes_are_invalid_not_a_crash(code: str) -> None:
    assert not valid_ean13(code)


def test_accents_and_case_are_folded_for_search() -> None:
    assert fold("Coração") == "coracao"
    assert fold("LINGUIÇA Toscana") == "linguica toscana"


@given(st.decimals(min_value=Decimal("-999999"), max_value=Decimal("999999"), places=3))
def test_quantity_text_round_trips_exactly(value: Decimal) -> None:
    assert parse_quantity(format_quantity(value)) == value


@pytest.mark.parametrize("bad", [1.25, "1.2345", "1,250", "abc", "", True, None])
def test_quantities_refuse_floats_and_ambiguity(bad: object) -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(bad)


def test_product_input_is_strict() -> None:
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": "x", "unit": "kg", "price_cents": 10, "extra": 1})
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": "x", "unit": "g", "price_cents": 10})
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": "x", "unit": "kg", "price_cents": "10"})
    with pytest.raises(ValidationError):
        ProductIn.model_validate({"name": "x", "unit": "kg", "price_cents": 10, "plu": 10000})


def _product() -> ProductOut:
    return ProductOut(
        id=uuid4(),
        name="Picanha",
        category_id=None,
        unit="kg",
        price_cents=8990,
        plu=10,
        barcode=None,
        min_stock=Decimal("1.000"),
        active=True,
    )


def test_patch_reports_only_real_changes() -> None:
    product = _product()
    updated, changed = apply_patch(
        product, ProductPatch.model_validate({"price_cents": 8990, "name": "Picanha maturada"})
    )
    assert changed == ["name"]
    assert updated.name == "Picanha maturada"
    _, nothing = apply_patch(product, ProductPatch.model_validate({}))
    assert nothing == []


def test_patch_can_clear_optional_fields_but_not_required_ones() -> None:
    updated, changed = apply_patch(_product(), ProductPatch.model_validate({"plu": None}))
    assert (updated.plu, changed) == (None, ["plu"])
    with pytest.raises(ValueError, match="price_cents"):
        apply_patch(_product(), ProductPatch.model_validate({"price_cents": None}))


@pytest.mark.parametrize("field", ["name", "unit", "price_cents", "min_stock", "active"])
def test_a_patch_cannot_null_a_required_field(field: str) -> None:
    """The service maps this message to the problem's detail, naming the field."""
    with pytest.raises(ValueError, match=f"^{field} cannot be null$"):
        apply_patch(_product(), ProductPatch.model_validate({field: None}))


def test_a_patch_lists_every_changed_field_in_order() -> None:
    product = _product()
    patch = ProductPatch.model_validate(
        {"active": False, "name": "Picanha", "min_stock": "2.500", "plu": 11}
    )
    updated, changed = apply_patch(product, patch)
    assert changed == ["active", "min_stock", "plu"]
    assert (updated.active, updated.min_stock, updated.plu) == (False, Decimal("2.500"), 11)
    assert updated.name == "Picanha"


def test_product_state_spells_the_event_contract() -> None:
    """Every product event carries these fields; ids and the minimum stock travel as text."""
    product = _product()
    assert product_state(product, 3) == {
        "product_id": str(product.id),
        "name": "Picanha",
        "unit": "kg",
        "price_cents": 8990,
        "category_id": None,
        "plu": 10,
        "barcode": None,
        "min_stock": "1.000",
        "active": True,
        "version": 3,
    }


def test_product_state_carries_the_category_and_barcode_as_text() -> None:
    category = uuid4()
    product = _product().model_copy(
        update={
            "category_id": category,
            "barcode": "7891000315507",
            "unit": "un",
            "min_stock": Decimal("12"),
            "active": False,
        }
    )
    state = product_state(product, 1)
    assert state["category_id"] == str(category)
    assert state["barcode"] == "7891000315507"
    assert (state["unit"], state["min_stock"], state["active"]) == ("un", "12.000", False)

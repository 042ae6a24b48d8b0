"""Quantities: 3-place decimals in the product's unit, carried in JSON as strings."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

THOUSANDTH = Decimal("0.001")
# Where the shop's reality ends for one sale line or one stock movement: 9,999.999 kg (or
# units). A hundred times the largest carcass a butcher receives, and small enough that no
# sum of bounded lines overflows a numeric(12, 3) column (issue 14: two sales of
# 999,999,999.999 did, and every later event of that product dead-lettered).
MAX_LINE_QUANTITY = Decimal("9999.999")
_QUANTITY = re.compile(r"^-?\d{1,9}(\.\d{1,3})?$")


def parse_quantity(value: Any) -> Decimal:
    """ "1.25" → Decimal("1.250"). Strings only (or ints): a float would already be inexact."""
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError('quantity must be a decimal string such as "1.250"')
    if not _QUANTITY.match(text):
        raise ValueError('quantity must be a decimal with at most 3 places, such as "1.250"')
    return Decimal(text).quantize(THOUSANDTH)


def format_quantity(value: Decimal) -> str:
    return str(value.quantize(THOUSANDTH, rounding=ROUND_HALF_UP))


Quantity = Annotated[
    Decimal,
    BeforeValidator(parse_quantity),
    PlainSerializer(format_quantity, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d{1,9}(\.\d{1,3})?$", "examples": ["1.250"]}
    ),
]


def bounded_quantity(value: Decimal) -> Decimal:
    """A line's or a movement's quantity: at most MAX_LINE_QUANTITY either way."""
    if abs(value) > MAX_LINE_QUANTITY:
        raise ValueError(f"quantity must be at most {MAX_LINE_QUANTITY} (kg or units)")
    return value


LineQuantity = Annotated[
    Decimal,
    BeforeValidator(parse_quantity),
    AfterValidator(bounded_quantity),
    PlainSerializer(format_quantity, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?0*\d{1,4}(\.\d{1,3})?$",
            "description": "at most 9999.999",
            "examples": ["1.250"],
        }
    ),
]

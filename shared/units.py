"""Quantities: 3-place decimals in the product's unit, carried in JSON as strings."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

THOUSANDTH = Decimal("0.001")
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

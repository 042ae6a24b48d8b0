"""Settings of the sales functions: the scale-label layout the shop's scale prints, and how
much discount a seller may give without an admin's approval."""

from __future__ import annotations

from pydantic import Field, field_validator

from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.config import FunctionSettings


class SalesSettings(FunctionSettings):
    # A preset name (toledo, filizola, urano) or an ACBr-style mask such as 2CCCC0TTTTTTDV.
    scale_label_mask: str = DEFAULT_MASK
    # The most a vendedor may take off a sale, in percent of its subtotal; above it an
    # admin approves on the spot. An admin's own discounts have no limit.
    vendedor_discount_limit_percent: int = Field(default=10, ge=0, le=100)

    @field_validator("scale_label_mask")
    @classmethod
    def _parses(cls, value: str) -> str:
        ScaleMask.from_setting(value)
        return value

    @property
    def mask(self) -> ScaleMask:
        return ScaleMask.from_setting(self.scale_label_mask)

"""Settings of the sales functions: which scale-label layout the shop's scale prints."""

from __future__ import annotations

from pydantic import field_validator

from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.config import FunctionSettings


class SalesSettings(FunctionSettings):
    # A preset name (toledo, filizola, urano) or an ACBr-style mask such as 2CCCC0TTTTTTDV.
    scale_label_mask: str = DEFAULT_MASK

    @field_validator("scale_label_mask")
    @classmethod
    def _parses(cls, value: str) -> str:
        ScaleMask.from_setting(value)
        return value

    @property
    def mask(self) -> ScaleMask:
        return ScaleMask.from_setting(self.scale_label_mask)

"""Settings of the sales functions: the scale-label layout the shop's scale prints, how much
discount a seller may give without an admin's approval, and the shop's identity printed on
every receipt."""

from __future__ import annotations

from pydantic import Field, field_validator
from stdnum.br import cnpj as cnpj_number

from functions.sales.receipts import Shop
from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.config import FunctionSettings


def normal_cnpj(value: str | None) -> str | None:
    """The CNPJ's 14 characters (digits, or letters and digits as from July 2026), or None;
    a wrong check digit stops the function at start (the receipt would print it)."""
    if value is None or not value.strip():
        return None
    compact = str(cnpj_number.compact(value))
    if not cnpj_number.is_valid(compact):
        raise ValueError("SHOP_CNPJ is not a valid CNPJ: check its digits")
    return compact


class SalesSettings(FunctionSettings):
    # A preset name (toledo, filizola, urano) or an ACBr-style mask such as 2CCCC0TTTTTTDV.
    scale_label_mask: str = DEFAULT_MASK
    # The most a vendedor may take off a sale, in percent of its subtotal; above it an
    # admin approves on the spot. An admin's own discounts have no limit.
    vendedor_discount_limit_percent: int = Field(default=10, ge=0, le=100)
    # The receipt's header (sales-query prints it; knative/services/sales-query.yaml sets
    # the demo shop's). Defaults, so the other sales functions need not name them.
    shop_name: str = Field(default="Açougue", min_length=1, max_length=120)
    shop_cnpj: str | None = Field(default=None, max_length=18)
    shop_address: str = Field(default="", max_length=200)

    @field_validator("scale_label_mask")
    @classmethod
    def _parses(cls, value: str) -> str:
        ScaleMask.from_setting(value)
        return value

    @field_validator("shop_cnpj")
    @classmethod
    def _cnpj(cls, value: str | None) -> str | None:
        return normal_cnpj(value)

    @field_validator("shop_name", "shop_address", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @property
    def mask(self) -> ScaleMask:
        return ScaleMask.from_setting(self.scale_label_mask)

    @property
    def shop(self) -> Shop:
        formatted = str(cnpj_number.format(self.shop_cnpj)) if self.shop_cnpj else None
        return Shop(name=self.shop_name, cnpj=formatted, address=self.shop_address)

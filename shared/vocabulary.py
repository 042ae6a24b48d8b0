"""The shop's words that cross domains, defined once: roles, payment methods, sale states.

Events, HTTP contracts, the gateway's pages and the functions all name these; a second
spelling is how a value accepted in one place is refused (or silently mismatched) in another.
"""

from __future__ import annotations

from typing import Literal, get_args

from shared.auth.principal import Role

RoleName = Literal["admin", "estoquista", "vendedor"]
# "fiado": on the customer's account (the customers domain approves it against the limit).
PaymentMethod = Literal["pix", "debit", "credit", "cash", "fiado"]
PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)
# The methods money actually arrives by: what a till counts and a customer pays an account with.
TillMethod = Literal["cash", "pix", "debit", "credit"]
TILL_METHODS: tuple[TillMethod, ...] = get_args(TillMethod)
SaleStatus = Literal["pending_payment", "paid", "payment_failed", "cancelled", "refunded"]
SALE_STATUSES: tuple[SaleStatus, ...] = get_args(SaleStatus)

if {role.value for role in Role} != set(get_args(RoleName)):  # checked on import, and by a test
    raise RuntimeError("RoleName and shared.auth.principal.Role disagree")

"""The query strings of the HTTP API, each a model with its bounds: the gateway declares and
validates them (OpenAPI included), and the function behind parses them with the same model
(`RequestContext.query`), so a bound is written once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.domain_errors import Invalid
from shared.vocabulary import SaleStatus

# A report or a ledger listing covers at most about three years.
MAX_PERIOD_DAYS = 3 * 366


class Query(BaseModel):
    """Unknown parameters are ignored, as a browser's cache-busting ones would be."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ProductsQuery(Query):
    q: str | None = Field(default=None, max_length=120)
    active: bool | None = None


class EventsQuery(Query):
    limit: int = Field(default=50, ge=1, le=500)
    type: str | None = Field(default=None, max_length=200)


class DeadLettersQuery(Query):
    limit: int = Field(default=50, ge=1, le=500)


class StockQuery(Query):
    expiring_within_days: int = Field(default=3, ge=0, le=365)


class MovementsQuery(Query):
    product_id: UUID | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class SalesQuery(Query):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    status: SaleStatus | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class CustomersQuery(Query):
    q: str | None = Field(
        default=None, max_length=100, description="name, phone or CPF (accents ignored)"
    )
    active: bool | None = None
    limit: int = Field(default=50, ge=1, le=200)


class StatementQuery(Query):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class ReceiptQuery(Query):
    format: Literal["text", "html"] = "text"


class TillSessionsQuery(Query):
    day: date | None = Field(
        default=None, alias="date", description="the shop's day the session opened"
    )
    status: Literal["open", "closed"] | None = None
    limit: int = Field(default=100, ge=1, le=500)


class DayQuery(Query):
    day: date | None = None


class UntilQuery(Query):
    to: date | None = None


class PeriodQuery(BaseModel):
    """The local days a finance query covers (São Paulo), as `from` and `to`; unknown
    parameters are refused (a misspelt `grupo_by` must not silently give the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    def days(self, today: date) -> tuple[date, date]:
        """[from, to], from defaulting to the first of this month and to to today."""
        first = self.from_ or today.replace(day=1)
        last = self.to or today
        if last < first:
            raise Invalid("to must not be before from.")
        if last - first > timedelta(days=MAX_PERIOD_DAYS):
            raise Invalid(f"A report covers at most {MAX_PERIOD_DAYS} days.")
        return first, last


class ReportQuery(PeriodQuery):
    group_by: Literal["day", "week", "month"] = "day"


class EntriesQuery(PeriodQuery):
    limit: int = Field(default=1000, ge=1, le=100_000)


# -- issue 18: the back office ----------------------------------------------------------


class SuppliersQuery(Query):
    q: str | None = Field(default=None, max_length=100, description="name or CNPJ")
    active: bool | None = None
    limit: int = Field(default=100, ge=1, le=500)


class PayablesQuery(Query):
    status: Literal["open", "paid"] | None = None
    supplier_id: UUID | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class ReceivablesQuery(Query):
    status: Literal["expected", "settled"] | None = None
    from_: date | None = Field(default=None, alias="from", description="expected on or after")
    to: date | None = Field(default=None, description="expected on or before")
    limit: int = Field(default=500, ge=1, le=5000)


class ExpensesQuery(PeriodQuery):
    category: str | None = Field(default=None, max_length=40)
    limit: int = Field(default=500, ge=1, le=5000)


class DashboardQuery(Query):
    day: date | None = Field(default=None, alias="date", description="the shop's day (today)")

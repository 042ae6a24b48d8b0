"""The customers domain's rules, with no I/O: the fiado decision, the account's arithmetic,
how a search is read, and who may change what. Money in integer centavos only."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from shared.auth.principal import Role
from shared.contracts.customers import MAX_CREDIT_LIMIT_CENTS, CustomerPatch
from shared.domain_errors import Forbidden, Invalid
from shared.events.sales import MAX_SALE_CENTS
from shared.text_search import fold as fold

# The reasons a fiado attempt is declined, as the counter shows them.
OVER_LIMIT = "limite de fiado excedido"
INACTIVE = "cliente inativo"
UNKNOWN = "cliente desconhecido"
CANCELLED_SALE = "venda cancelada"

# What only an admin may set on a customer.
ADMIN_ONLY = frozenset({"credit_limit_cents", "active"})
# What nobody may set to null.
NOT_NULL = frozenset({"name", "credit_limit_cents", "active"})
# The most attempts one sale may make (the column is a 32-bit integer; a counter retries a
# handful of times).
MAX_ATTEMPT = 1000


# -- the account --------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """What a fiado decision needs of a customer: the limit, what they owe, and whether
    the shop still sells to them on credit."""

    credit_limit_cents: int
    balance_cents: int
    active: bool


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str | None = None


def available_cents(credit_limit_cents: int, balance_cents: int) -> int:
    """How much more the customer may take on credit: limit − balance, never below 0."""
    return max(0, credit_limit_cents - balance_cents)


def decide_fiado(account: Account | None, amount_cents: int) -> Decision:
    """Approve when the customer is known, active, and balance + amount stays within the
    limit; else decline with the reason the counter shows."""
    check_charge(amount_cents)
    if account is None:
        return Decision(False, UNKNOWN)
    if not account.active:
        return Decision(False, INACTIVE)
    if account.balance_cents + amount_cents > account.credit_limit_cents:
        return Decision(False, OVER_LIMIT)
    return Decision(True)


def check_charge(amount_cents: int, attempt: int = 1) -> None:
    """A fiado request the counter could have made: 0..the largest sale, a sane attempt
    (anything else is dead-lettered, never retried)."""
    if not 0 <= amount_cents <= MAX_SALE_CENTS:
        raise Invalid(f"a fiado charge is 0 to {MAX_SALE_CENTS} centavos, not {amount_cents}")
    if not 1 <= attempt <= MAX_ATTEMPT:
        raise Invalid(f"a sale makes 1 to {MAX_ATTEMPT} payment attempts, not {attempt}")


def after_charge(balance_cents: int, amount_cents: int) -> int:
    """The balance after an approved fiado sale."""
    if amount_cents < 0:
        raise Invalid("a fiado charge is never negative")
    return balance_cents + amount_cents


def after_payment(balance_cents: int, amount_cents: int) -> int:
    """The balance after the customer pays `amount_cents`: never below 0 (422 otherwise)."""
    if amount_cents <= 0:
        raise Invalid("o pagamento deve ser maior que zero")
    if amount_cents > balance_cents:
        raise Invalid(
            "valor maior que o saldo devedor do cliente",
            balance_cents=max(balance_cents, 0),
        )
    return balance_cents - amount_cents


def after_refund(balance_cents: int, amount_cents: int) -> int:
    """The balance after a cancelled or returned fiado sale gives `amount_cents` back (a
    refund after a payment may leave the shop owing the customer: a negative balance)."""
    if amount_cents < 0:
        raise Invalid("a refund is never negative")
    return balance_cents - amount_cents


def refundable_cents(charged_cents: int, returned_cents: int) -> int:
    """What a cancellation gives back of a charge: what returns have not given back yet."""
    return max(0, charged_cents - returned_cents)


def returnable(charged_cents: int, returned_cents: int, amount_cents: int) -> int:
    """The charge's returned total after a return of `amount_cents`; 422 past the charge."""
    if amount_cents < 0:
        raise Invalid("a return is never negative")
    if returned_cents + amount_cents > charged_cents:
        raise Invalid(
            "a devolução passa do valor vendido no fiado",
            charged_cents=charged_cents,
            returned_cents=returned_cents,
        )
    return returned_cents + amount_cents


def running_balances(opening_cents: int, amounts: Iterable[int]) -> list[int]:
    """The balance after each entry, from the balance before the first."""
    balances: list[int] = []
    balance = opening_cents
    for amount in amounts:
        balance += amount
        balances.append(balance)
    return balances


# -- search ------------------------------------------------------------------------------


def digits(text: str) -> str:
    """The ASCII digits of `text` (a phone or CPF however written)."""
    return "".join(c for c in text if c.isascii() and c.isdigit())


@dataclass(frozen=True)
class Search:
    """A search box's text: a folded name fragment, and the digits of a phone or CPF when
    the text holds no letters (so "Ana 2" never matches every phone with a 2)."""

    name: str
    digits: str | None


def search_of(query: str) -> Search | None:
    folded = fold(query)
    if not folded:
        return None
    found = digits(folded)
    has_letters = any(c.isalpha() for c in folded)
    return Search(name=folded, digits=found if found and not has_letters else None)


# -- who may change what -----------------------------------------------------------------


def check_create(role: Role, fields: Set[str]) -> None:
    """Only an admin gives a customer credit: a vendedor naming a limit at all is refused."""
    if role is not Role.ADMIN and "credit_limit_cents" in fields:
        raise Forbidden("Só um administrador define o limite de fiado de um cliente.")


def check_patch(role: Role, patch: CustomerPatch) -> None:
    """An admin changes anything; a vendedor only the name and the phone (403 otherwise);
    nobody sets the name, the limit or `active` to null (422)."""
    fields = patch.model_fields_set
    if role is not Role.ADMIN:
        barred = sorted(fields & ADMIN_ONLY)
        if barred:
            raise Forbidden(
                "Só um administrador muda o limite de fiado ou ativa e desativa um cliente.",
                fields=barred,
            )
    nulls = sorted(f for f in fields & NOT_NULL if getattr(patch, f) is None)
    if nulls:
        raise Invalid(f"não pode ficar vazio: {', '.join(nulls)}", fields=nulls)


def credit_limit(value: int | None) -> int:
    """A new customer's limit: 0 unless an admin gave one."""
    limit = 0 if value is None else value
    if not 0 <= limit <= MAX_CREDIT_LIMIT_CENTS:
        raise Invalid("limite de fiado fora do permitido")
    return limit

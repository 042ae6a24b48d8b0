"""SQL of the customers schema (the connection's search path is `customers`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import errors

from functions.customers import domain
from shared.contracts.customers import CustomerOut, StatementEntryOut
from shared.db.pool import Conn
from shared.domain_errors import Conflict
from shared.text_search import like_pattern

_CUSTOMER_COLUMNS = "id, name, phone, cpf, credit_limit_cents, balance_cents, active, created_at"


@dataclass(frozen=True)
class CustomerRow:
    id: UUID
    name: str
    phone: str | None
    cpf: str | None
    credit_limit_cents: int
    balance_cents: int
    active: bool
    created_at: datetime

    @property
    def account(self) -> domain.Account:
        return domain.Account(self.credit_limit_cents, self.balance_cents, self.active)

    def out(self) -> CustomerOut:
        return CustomerOut(
            id=self.id,
            name=self.name,
            phone=self.phone,
            cpf=self.cpf,
            credit_limit_cents=self.credit_limit_cents,
            balance_cents=self.balance_cents,
            available_cents=domain.available_cents(self.credit_limit_cents, self.balance_cents),
            active=self.active,
            created_at=self.created_at,
        )


@dataclass(frozen=True)
class ChargeRow:
    payment_id: UUID
    sale_id: UUID
    attempt: int
    customer_id: UUID
    amount_cents: int
    status: str
    reason: str | None
    returned_cents: int


_CHARGE_COLUMNS = (
    "payment_id, sale_id, attempt, customer_id, amount_cents, status, reason, returned_cents"
)


def _customer(row: dict[str, Any] | None) -> CustomerRow | None:
    return CustomerRow(**row) if row else None


def _phone_digits(phone: str | None) -> str | None:
    return domain.digits(phone) if phone else None


# -- customers ---------------------------------------------------------------------------


async def insert_customer(conn: Conn, c: CustomerRow) -> None:
    """409 when another customer has this CPF."""
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO customers (id, name, search_name, phone, phone_digits, cpf,"
                " credit_limit_cents, balance_cents, active, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    c.id,
                    c.name,
                    domain.fold(c.name),
                    c.phone,
                    _phone_digits(c.phone),
                    c.cpf,
                    c.credit_limit_cents,
                    c.balance_cents,
                    c.active,
                    c.created_at,
                ),
            )
    except errors.UniqueViolation:
        raise Conflict("Já existe um cliente com este CPF.") from None


async def update_customer(conn: Conn, c: CustomerRow) -> None:
    """Name, phone, limit and `active` (the balance moves only with an entry)."""
    await conn.execute(
        "UPDATE customers SET name = %s, search_name = %s, phone = %s, phone_digits = %s,"
        " credit_limit_cents = %s, active = %s, updated_at = now() WHERE id = %s",
        (
            c.name,
            domain.fold(c.name),
            c.phone,
            _phone_digits(c.phone),
            c.credit_limit_cents,
            c.active,
            c.id,
        ),
    )


async def get_customer(conn: Conn, customer_id: UUID) -> CustomerRow | None:
    cursor = await conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = %s",  # noqa: S608
        (customer_id,),
    )
    return _customer(await cursor.fetchone())


async def lock_customer(conn: Conn, customer_id: UUID) -> CustomerRow | None:
    """The customer, locked until the transaction ends: every change of an account reads
    its balance here first, so two charges or payments never decide on the same balance."""
    cursor = await conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = %s FOR UPDATE",  # noqa: S608
        (customer_id,),
    )
    return _customer(await cursor.fetchone())


async def search_customers(
    conn: Conn, *, query: str | None, active: bool | None, limit: int
) -> list[CustomerRow]:
    """By name (accent-insensitive substring), phone digits or CPF digits."""
    clauses: list[str] = []
    params: list[object] = []
    search = domain.search_of(query) if query else None
    if search is not None:
        options = ["search_name LIKE %s"]
        params.append(like_pattern(search.name))
        if search.digits:
            options += ["phone_digits LIKE %s", "cpf LIKE %s"]
            params += [like_pattern(search.digits), like_pattern(search.digits)]
        clauses.append("(" + " OR ".join(options) + ")")
    if active is not None:
        clauses.append("active = %s")
        params.append(active)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    params.append(limit)
    cursor = await conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers{where}"  # noqa: S608
        " ORDER BY search_name, id LIMIT %s",
        params,
    )
    return [c for r in await cursor.fetchall() if (c := _customer(r))]


# -- the account -------------------------------------------------------------------------


async def add_entry(
    conn: Conn,
    *,
    entry_id: UUID,
    customer_id: UUID,
    kind: str,
    sale_id: UUID | None,
    amount_cents: int,
    balance_after_cents: int,
) -> None:
    """An entry and the customer's new balance, together (the row is locked already)."""
    await conn.execute(
        "INSERT INTO account_entries (id, customer_id, kind, sale_id, amount_cents,"
        " balance_after_cents) VALUES (%s, %s, %s, %s, %s, %s)",
        (entry_id, customer_id, kind, sale_id, amount_cents, balance_after_cents),
    )
    await conn.execute(
        "UPDATE customers SET balance_cents = %s, updated_at = now() WHERE id = %s",
        (balance_after_cents, customer_id),
    )


async def entries(
    conn: Conn,
    customer_id: UUID,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[StatementEntryOut]:
    """The account's entries in [since, until), oldest first; the latest `limit` of them."""
    clauses = ["customer_id = %s"]
    params: list[object] = [customer_id]
    if since is not None:
        clauses.append("at >= %s")
        params.append(since)
    if until is not None:
        clauses.append("at < %s")
        params.append(until)
    params.append(limit)
    cursor = await conn.execute(
        "SELECT at, kind, sale_id, amount_cents, balance_after_cents FROM ("  # noqa: S608
        " SELECT seq, at, kind, sale_id, amount_cents, balance_after_cents"
        f" FROM account_entries WHERE {' AND '.join(clauses)}"
        " ORDER BY seq DESC LIMIT %s) AS latest ORDER BY seq",
        params,
    )
    return [StatementEntryOut.model_validate(r) for r in await cursor.fetchall()]


# -- fiado charges -----------------------------------------------------------------------


async def lock_sale(conn: Conn, sale_id: UUID) -> None:
    """Serialize what happens to one sale's fiado (its charge, its cancellation, its
    returns) until the transaction ends, taken before any customer's row: a cancellation
    racing the charge sees it approved, or the charge sees the sale cancelled."""
    key = int.from_bytes(sale_id.bytes[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


async def insert_charge(conn: Conn, c: ChargeRow) -> bool:
    """False when this attempt of the sale was decided already."""
    cursor = await conn.execute(
        "INSERT INTO fiado_charges (payment_id, sale_id, attempt, customer_id, amount_cents,"
        " status, reason, returned_cents) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (sale_id, attempt) DO NOTHING RETURNING payment_id",
        (
            c.payment_id,
            c.sale_id,
            c.attempt,
            c.customer_id,
            c.amount_cents,
            c.status,
            c.reason,
            c.returned_cents,
        ),
    )
    return await cursor.fetchone() is not None


async def charge_decided(conn: Conn, sale_id: UUID, attempt: int) -> bool:
    cursor = await conn.execute(
        "SELECT 1 FROM fiado_charges WHERE sale_id = %s AND attempt = %s", (sale_id, attempt)
    )
    return await cursor.fetchone() is not None


async def approved_charges(conn: Conn, sale_id: UUID) -> list[ChargeRow]:
    """The sale's approved (unrefunded) charges, locked."""
    cursor = await conn.execute(
        f"SELECT {_CHARGE_COLUMNS} FROM fiado_charges"  # noqa: S608
        " WHERE sale_id = %s AND status = 'approved' ORDER BY attempt FOR UPDATE",
        (sale_id,),
    )
    return [ChargeRow(**r) for r in await cursor.fetchall()]


async def set_charge(conn: Conn, payment_id: UUID, *, status: str, returned_cents: int) -> None:
    await conn.execute(
        "UPDATE fiado_charges SET status = %s, returned_cents = %s, updated_at = now()"
        " WHERE payment_id = %s",
        (status, returned_cents, payment_id),
    )


async def mark_cancelled(conn: Conn, sale_id: UUID) -> bool:
    cursor = await conn.execute(
        "INSERT INTO cancelled_sales (sale_id) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
        (sale_id,),
    )
    return await cursor.fetchone() is not None


async def is_cancelled(conn: Conn, sale_id: UUID) -> bool:
    cursor = await conn.execute("SELECT 1 FROM cancelled_sales WHERE sale_id = %s", (sale_id,))
    return await cursor.fetchone() is not None


async def return_recorded(conn: Conn, return_id: UUID) -> bool:
    cursor = await conn.execute("SELECT 1 FROM fiado_returns WHERE return_id = %s", (return_id,))
    return await cursor.fetchone() is not None


async def insert_return(
    conn: Conn, *, return_id: UUID, sale_id: UUID, payment_id: UUID, amount_cents: int
) -> None:
    """A return put back on the account (the sale's lock is held: no concurrent twin)."""
    await conn.execute(
        "INSERT INTO fiado_returns (return_id, sale_id, payment_id, amount_cents)"
        " VALUES (%s, %s, %s, %s)",
        (return_id, sale_id, payment_id, amount_cents),
    )


# -- customers' payments -----------------------------------------------------------------


async def insert_payment(
    conn: Conn,
    *,
    payment_id: UUID,
    customer_id: UUID,
    amount_cents: int,
    method: str,
    received_by: str,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO customer_payments (id, customer_id, amount_cents, method, received_by,"
        " idempotency_key, request_hash) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            payment_id,
            customer_id,
            amount_cents,
            method,
            received_by,
            idempotency_key,
            request_hash,
        ),
    )


@dataclass(frozen=True)
class KeyedPayment:
    payment_id: UUID
    amount_cents: int
    method: str
    request_hash: str | None


async def payment_by_key(conn: Conn, customer_id: UUID, key: str) -> KeyedPayment | None:
    """The payment already made on this account with this Idempotency-Key, if any."""
    cursor = await conn.execute(
        "SELECT id, amount_cents, method, request_hash FROM customer_payments"
        " WHERE customer_id = %s AND idempotency_key = %s",
        (customer_id, key),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return KeyedPayment(row["id"], row["amount_cents"], row["method"], row["request_hash"])

"""Compares every accepted sale with what the database and the events say happened,
counting as RabbitMQ's Jepsen checker does: lost, duplicated, unexpected."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg

from tests.faults.workload import Accepted


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.pending)

    def counts(self) -> dict[str, int]:
        return {
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "unexpected": len(self.unexpected),
            "pending": len(self.pending),
        }


def check(admin_dsn: str, accepted: list[Accepted], since_sales: set[str] | None = None) -> Verdict:
    """Each accepted sale: the status its payment rule implies; one stock movement per
    line when paid (none otherwise); one revenue entry and one CMV entry per line when
    paid. Anything beyond is duplicated; sales nobody was told about are unexpected."""
    verdict = Verdict()
    ids = [a.sale_id for a in accepted]
    with psycopg.connect(admin_dsn) as conn:
        status: dict[str, str] = dict(
            conn.execute(
                "SELECT id::text, status FROM sales.sales WHERE id::text = ANY(%s)", (ids,)
            ).fetchall()
        )
        moves: dict[str, int] = dict(
            conn.execute(
                "SELECT cause_id, count(*) FROM inventory.movements"
                " WHERE cause_type = 'sale' AND kind = 'sale' AND cause_id = ANY(%s) GROUP BY 1",
                (ids,),
            ).fetchall()
        )
        revenue: dict[str, int] = dict(
            conn.execute(
                "SELECT sale_id::text, count(*) FROM finance.entries"
                " WHERE cause = 'payment.approved' AND sale_id::text = ANY(%s) GROUP BY 1",
                (ids,),
            ).fetchall()
        )
        cmv: dict[str, int] = dict(
            conn.execute(
                "SELECT sale_id::text, count(*) FROM finance.entries"
                " WHERE cause = 'inventory.movement' AND sale_id::text = ANY(%s) GROUP BY 1",
                (ids,),
            ).fetchall()
        )
        if since_sales is not None:
            every = {r[0] for r in conn.execute("SELECT id::text FROM sales.sales").fetchall()}
            verdict.unexpected += sorted(every - since_sales - set(ids))
    for sale in accepted:
        want = (
            ("paid", sale.lines, 1, sale.lines) if sale.expect_paid else ("payment_failed", 0, 0, 0)
        )
        got = (
            status.get(sale.sale_id),
            moves.get(sale.sale_id, 0),
            revenue.get(sale.sale_id, 0),
            cmv.get(sale.sale_id, 0),
        )
        if got == want:
            continue
        if any(g > w for g, w in zip(got[1:], want[1:], strict=True)):
            verdict.duplicated.append(f"{sale.sale_id}: {got} != {want}")
        elif got[0] in (None,):
            verdict.lost.append(f"{sale.sale_id}: {got} != {want}")
        else:
            verdict.pending.append(f"{sale.sale_id}: {got} != {want}")
    return verdict


def drain(
    admin_dsn: str, accepted: list[Accepted], *, timeout: float = 120.0
) -> tuple[Verdict, float]:
    """Wait until every effect is complete (or time runs out); the verdict and the wait."""
    started = time.monotonic()
    while True:
        verdict = check(admin_dsn, accepted)
        if verdict.clean or verdict.duplicated or time.monotonic() - started > timeout:
            return verdict, time.monotonic() - started
        time.sleep(0.5)

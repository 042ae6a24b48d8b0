"""The owner's figures of issue 17, shaped from rows (free of I/O): fiado in the result by
payment method, and the daily cash closing with its till sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from functions.finance import reports

DAY = date(2026, 12, 7)


def _figures(**values: int) -> dict[str, int]:
    base = dict.fromkeys(
        (
            "cash_net_cents",
            "cash_sales_cents",
            "change_given_cents",
            "cash_refunds_cents",
            "sangria_cents",
            "suprimento_cents",
            "cash_paid_out_cents",
        ),
        0,
    )
    return {**base, **values}


def _session(n: int, expected: tuple[int, ...], counted: tuple[int, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": f"00000000-0000-4000-8000-00000000000{n}",
        "operator_id": f"00000000-0000-4000-8000-0000000000a{n}",
        "opened_at": datetime(2026, 12, 7, 11 + n, tzinfo=UTC),
        "closed_at": datetime(2026, 12, 7, 20 + n, tzinfo=UTC),
        "opening_cents": 10000 * n,
    }
    for method, e, c in zip(("cash", "pix", "debit", "credit"), expected, counted, strict=True):
        row[f"expected_{method}_cents"] = e
        row[f"counted_{method}_cents"] = c
    return row


def test_fiado_is_its_own_method_in_the_result() -> None:
    found: dict[str, list[dict[str, Any]]] = {
        "series": [],
        "products": [],
        "methods": [
            {"payment_method": "cash", "revenue_cents": 1000},
            {"payment_method": "fiado", "revenue_cents": 2500},
        ],
    }
    result = reports.result(DAY, DAY, "day", found)
    assert result["by_payment_method"] == {
        "cash": {"revenue_cents": 1000},
        "pix": {"revenue_cents": 0},
        "debit": {"revenue_cents": 0},
        "credit": {"revenue_cents": 0},
        "fiado": {"revenue_cents": 2500},
    }


def test_the_cash_closing_without_sessions_keeps_its_day_level_figures() -> None:
    data = {
        "figures": _figures(cash_net_cents=4500, cash_sales_cents=5000, cash_refunds_cents=500),
        "by_method": {"cash": 4500, "pix": 1200, "fiado": 3000},
        "customer_payments": {"pix": 700},
        "closing": {"opening_float_cents": 10000, "counted": {"cash": 14400, "pix": 1200}},
    }
    closing = reports.cash_closing(DAY, data)
    assert closing["expected"] == {"cash": 14500, "pix": 1200, "debit": 0, "credit": 0}
    assert closing["difference"] == {"cash": -100, "pix": 0, "debit": 0, "credit": 0}
    assert closing["fiado_sales_cents"] == 3000
    assert closing["customer_payments"] == {"cash": 0, "pix": 700, "debit": 0, "credit": 0}
    assert closing["cash_refunds_cents"] == 500
    assert closing["sessions"] == []
    assert closing["sessions_total"] == {
        "count": 0,
        "opening_cents": 0,
        "expected": {"cash": 0, "pix": 0, "debit": 0, "credit": 0},
        "counted": {"cash": 0, "pix": 0, "debit": 0, "credit": 0},
        "difference": {"cash": 0, "pix": 0, "debit": 0, "credit": 0},
    }


def test_the_cash_closing_lists_and_sums_the_days_sessions() -> None:
    data = {
        "figures": _figures(),
        "by_method": {},
        "closing": {},
        "sessions": [
            _session(1, (15000, 2000, 3000, 0), (14950, 2000, 3000, 0)),
            _session(2, (25000, 0, 0, 9000), (25100, 0, 0, 9000)),
        ],
    }
    closing = reports.cash_closing(DAY, data)
    first, second = closing["sessions"]
    assert first["session_id"] == "00000000-0000-4000-8000-000000000001"
    assert first["opening_cents"] == 10000
    assert first["expected"] == {"cash": 15000, "pix": 2000, "debit": 3000, "credit": 0}
    assert first["difference"] == {"cash": -50, "pix": 0, "debit": 0, "credit": 0}
    assert second["difference"] == {"cash": 100, "pix": 0, "debit": 0, "credit": 0}
    assert closing["sessions_total"] == {
        "count": 2,
        "opening_cents": 30000,
        "expected": {"cash": 40000, "pix": 2000, "debit": 3000, "credit": 9000},
        "counted": {"cash": 40050, "pix": 2000, "debit": 3000, "credit": 9000},
        "difference": {"cash": 50, "pix": 0, "debit": 0, "credit": 0},
    }
    assert closing["counted"] is None
    assert closing["difference"] is None

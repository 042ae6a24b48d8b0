"""Column names in SQL come from explicit allow-lists that hold under `python -O` (an
`assert` would vanish there and let any name through into the statement)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any
from uuid import uuid4

import pytest

from functions.sales import store
from functions.sales.domain import SaleState, Status


def test_a_lookup_by_an_unknown_column_is_refused() -> None:
    with pytest.raises(ValueError, match="not looked up by"):
        asyncio.run(store.product_by(None, "name; DROP TABLE sales", 1))  # type: ignore[arg-type]


def test_a_payment_update_of_an_unknown_column_is_refused() -> None:
    state = SaleState(Status.PAID, 1, False)
    columns: dict[str, Any] = {"status = 'paid', total_cents": 0}
    with pytest.raises(ValueError, match="not a payment column"):
        asyncio.run(store.save_state(None, uuid4(), state, **columns))  # type: ignore[arg-type]


def test_the_allow_lists_hold_under_python_optimised() -> None:
    """The same refusals with assertions stripped (`-O`)."""
    code = (
        "import asyncio\n"
        "from functions.sales import store\n"
        "try:\n"
        "    asyncio.run(store.product_by(None, 'name', 1))\n"
        "except ValueError:\n"
        "    print('refused')\n"
    )
    answer = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert answer.stdout.strip() == "refused", answer.stderr

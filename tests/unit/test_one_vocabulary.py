"""Words and clocks the domains share, each defined once (shared.vocabulary, shared.shop_time)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from shared import shop_time
from tooling.manifests import REPO_ROOT


def test_the_shops_day_turns_at_midnight_in_sao_paulo() -> None:
    assert shop_time.today(datetime(2027, 1, 1, 2, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert shop_time.today(datetime(2027, 1, 1, 3, 0, tzinfo=UTC)) == date(2027, 1, 1)
    assert shop_time.start_of(date(2026, 12, 7)) == datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _sources_matching(pattern: str, *, except_in: str) -> list[str]:
    """The library and function modules (but the one that holds the definition) where
    the pattern occurs."""
    return [
        str(path.relative_to(REPO_ROOT))
        for path in [*REPO_ROOT.glob("functions/**/*.py"), *REPO_ROOT.glob("shared/**/*.py")]
        if path.name != except_in and re.search(pattern, path.read_text())
    ]


def test_no_domain_keeps_its_own_zone_or_offset() -> None:
    """One definition: no fixed UTC-3 offset, no second ZoneInfo or zone string elsewhere."""
    pattern = r"ZoneInfo\(|\"America/Sao_Paulo\"|timedelta\(hours=-3\)"
    assert _sources_matching(pattern, except_in="shop_time.py") == []


def test_roles_and_payment_methods_are_spelled_once() -> None:
    """shared.vocabulary is the one definition; a second Literal of the same words is a
    second spelling waiting to drift."""
    pattern = r'Literal\["admin", "estoquista"|Literal\["pix", "debit"'
    assert _sources_matching(pattern, except_in="vocabulary.py") == []

"""Money is integer centavos; these are the two ways the shop rounds and splits it."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal


def cents(value: Decimal) -> int:
    """Round half-up to whole centavos."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total_cents: int, weights: list[Decimal]) -> list[int]:
    """Split a value in proportion to weights, exactly (largest remainder): the parts add
    up to the total to the centavo, and a zero weight gets nothing."""
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights cannot be negative")
    whole = sum(weights, Decimal(0))
    if whole == 0:
        raise ValueError("nothing to allocate to")
    exact = [Decimal(total_cents) * w / whole for w in weights]
    parts = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    remainder = total_cents - sum(parts)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (exact[i] - parts[i], weights[i]), reverse=True
    )
    for i in by_remainder[:remainder]:
        parts[i] += 1
    return parts

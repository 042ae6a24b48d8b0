"""Brazilian scale labels: in-store EAN-13 codes beginning with `2`, laid out by a mask.

A scale prints the product's PLU and either the total price or the weight into the
barcode. Each brand (and each shop's configuration) arranges the digits differently, so
the layout is a mask in the style of ACBr: `C` = a digit of the PLU, `T` = a digit of
the total in centavos, `P` = a digit of the weight in grams, any other digit = filler
that is ignored, and a trailing `DV` for the EAN-13 check digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from shared.contracts.catalog import ean13_check_digit

# Common starting layouts, named after scale brands. They are a convenience, not a
# guarantee: check them against the label configuration programmed into the shop's own
# scale, which can differ per model and per installation. Any valid mask works.
PRESETS: dict[str, str] = {
    "toledo": "2CCCC0TTTTTTDV",
    "filizola": "2CCCCCTTTTTTDV",
    "urano": "2CCCCCCTTTTTDV",
}

DEFAULT_MASK = "2CCCC0TTTTTTDV"

ValueKind = Literal["total", "weight"]

_DIGITS13 = re.compile(r"[0-9]{13}")  # ASCII only: str.isdigit() also accepts "²" and "٣"
_SHOWN_MAX = 40


def _shown(barcode: str) -> str:
    """The barcode as it may appear in a message: escaped and cut, since it is user input."""
    text = barcode if len(barcode) <= _SHOWN_MAX else barcode[:_SHOWN_MAX] + "..."
    return ascii(text)[1:-1]


class LabelError(ValueError):
    """A scanned scale label cannot be read; the message names the barcode and is safe to show."""

    def __init__(self, barcode: str, reason: str) -> None:
        self.barcode = barcode
        self.reason = reason
        super().__init__(f"scale label {_shown(barcode)}: {reason}")


def _span(text: str, letter: str) -> tuple[int, int] | None:
    """Where a letter's group lies, as slice bounds; refuses a group split by other digits."""
    places = [i for i, c in enumerate(text) if c == letter]
    if not places:
        return None
    start, stop = places[0], places[-1] + 1
    if stop - start != len(places):
        raise ValueError(f"scale mask {text + 'DV'!r}: the {letter} digits must be contiguous")
    return start, stop


@dataclass(frozen=True)
class ScaleMask:
    """A validated label layout; constructing one with a bad mask raises ValueError."""

    text: str
    plu_span: tuple[int, int] = field(init=False, repr=False, compare=False)
    value_span: tuple[int, int] = field(init=False, repr=False, compare=False)
    kind: ValueKind = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.text
        if len(text) != 14 or not text.endswith("DV"):
            raise ValueError(
                f"scale mask {text!r}: must be 12 positions followed by DV (14 characters), "
                "e.g. 2CCCC0TTTTTTDV"
            )
        body = text[:-2]
        if bad := sorted({c for c in body if c not in "0123456789CTP"}):
            raise ValueError(
                f"scale mask {text!r}: unexpected {''.join(bad)!r}; use C, T, P or digits"
            )
        if body[0] != "2":
            # Labels in the in-store range always start with 2; a letter there would
            # read that constant 2 as part of the PLU or value.
            raise ValueError(f"scale mask {text!r}: must start with 2")
        plu = _span(body, "C")
        total = _span(body, "T")
        weight = _span(body, "P")
        if plu is None:
            raise ValueError(f"scale mask {text!r}: needs at least one C (PLU digit)")
        if (total is None) == (weight is None):
            raise ValueError(
                f"scale mask {text!r}: needs exactly one group, T (total) or P (weight)"
            )
        object.__setattr__(self, "plu_span", plu)
        if total is not None:
            object.__setattr__(self, "value_span", total)
            object.__setattr__(self, "kind", "total")
        elif weight is not None:
            object.__setattr__(self, "value_span", weight)
            object.__setattr__(self, "kind", "weight")

    @classmethod
    def parse(cls, text: str) -> ScaleMask:
        """Accepts surrounding blanks and lower case, as typed into a settings form."""
        return cls(text.strip().upper())

    @classmethod
    def from_setting(cls, value: str) -> ScaleMask:
        """A preset name (any case) or a mask, so the shop can start from its scale's brand."""
        preset = PRESETS.get(value.strip().lower())
        if preset is not None:
            return cls(preset)
        try:
            return cls.parse(value)
        except ValueError as error:
            names = ", ".join(sorted(PRESETS))
            raise ValueError(f"{error} (or use a preset: {names})") from None


@dataclass(frozen=True)
class ScaleLabel:
    """What a label says; exactly one of total_cents and weight_grams is set."""

    barcode: str
    plu: int
    total_cents: int | None
    weight_grams: int | None

    def __post_init__(self) -> None:
        if (self.total_cents is None) == (self.weight_grams is None):
            raise ValueError("a scale label carries either a total or a weight")


def is_scale_label(barcode: str) -> bool:
    """True for 13 ASCII digits starting with 2, the in-store range; the check digit is not read."""
    return _DIGITS13.fullmatch(barcode) is not None and barcode[0] == "2"


def decode(barcode: str, mask: ScaleMask) -> ScaleLabel:
    """Reads a scanned label. Filler digits are not compared, because scales vary in them."""
    if _DIGITS13.fullmatch(barcode) is None:
        raise LabelError(barcode, "not 13 digits")
    if barcode[0] != "2":
        raise LabelError(barcode, "not a scale label (does not start with 2)")
    if ean13_check_digit(barcode[:12]) != int(barcode[12]):
        raise LabelError(barcode, "invalid check digit")
    plu = int(barcode[slice(*mask.plu_span)])
    value = int(barcode[slice(*mask.value_span)])
    if mask.kind == "total":
        return ScaleLabel(barcode, plu, total_cents=value, weight_grams=None)
    return ScaleLabel(barcode, plu, total_cents=None, weight_grams=value)

"""Scale labels: the issue's vectors, mask validation, and encode/decode round trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.sales.scale_labels import (
    DEFAULT_MASK,
    PRESETS,
    LabelError,
    ScaleLabel,
    ScaleMask,
    decode,
    is_scale_label,
)
from shared.contracts.catalog import ean13_check_digit


def _check_digit_by_hand(first12: str) -> int:
    """An independent EAN-13 check digit, to vouch for the issue's vectors."""
    odd = sum(int(first12[i]) for i in range(0, 12, 2))
    even = sum(int(first12[i]) for i in range(1, 12, 2))
    return -(odd + 3 * even) % 10


def encode(mask: ScaleMask, plu: int, value: int, filler: str = "") -> str:
    """A test-side encoder: fills the mask's positions, then appends the check digit.

    `filler` overrides the mask's filler digits after the leading 2, to show they are ignored.
    """
    digits = ["2"]
    plu_digits = iter(str(plu).zfill(mask.text.count("C")))
    value_letter = "T" if mask.kind == "total" else "P"
    value_digits = iter(str(value).zfill(mask.text.count(value_letter)))
    spare = iter(filler)
    for place in mask.text[1:-2]:
        if place == "C":
            digits.append(next(plu_digits))
        elif place == value_letter:
            digits.append(next(value_digits))
        else:
            digits.append(next(spare, place))
    first12 = "".join(digits)
    assert len(first12) == 12
    return first12 + str(ean13_check_digit(first12))


# --- The issue's vectors -------------------------------------------------------------


@pytest.mark.parametrize("barcode", ["2010085025049", "2014900002840", "2123400123457"])
def test_the_issue_vectors_carry_a_valid_check_digit(barcode: str) -> None:
    assert _check_digit_by_hand(barcode[:12]) == int(barcode[12])
    assert ean13_check_digit(barcode[:12]) == int(barcode[12])


def test_a_weight_label_with_a_six_digit_code() -> None:
    label = decode("2010085025049", ScaleMask.parse("2CCCCCCPPPPPDV"))
    assert label == ScaleLabel("2010085025049", plu=10085, total_cents=None, weight_grams=2504)


def test_a_price_label_with_a_seven_digit_total() -> None:
    label = decode("2014900002840", ScaleMask.parse("2CCCCTTTTTTTDV"))
    assert label == ScaleLabel("2014900002840", plu=149, total_cents=284, weight_grams=None)


def test_a_price_label_with_the_default_mask() -> None:
    label = decode("2123400123457", ScaleMask.parse(DEFAULT_MASK))
    assert label == ScaleLabel("2123400123457", plu=1234, total_cents=12345, weight_grams=None)


def test_the_default_mask_is_the_toledo_preset() -> None:
    assert DEFAULT_MASK == "2CCCC0TTTTTTDV"
    assert PRESETS["toledo"] == DEFAULT_MASK


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_mask(name: str) -> None:
    assert ScaleMask.parse(PRESETS[name]).text == PRESETS[name]


# --- Refusals --------------------------------------------------------------------------


def test_a_wrong_check_digit_is_refused_naming_the_barcode() -> None:
    with pytest.raises(LabelError, match="2123400123450") as caught:
        decode("2123400123450", ScaleMask.parse(DEFAULT_MASK))
    assert "check digit" in str(caught.value)
    assert caught.value.barcode == "2123400123450"


@pytest.mark.parametrize("position", range(12))
def test_any_single_digit_change_breaks_the_check_digit(position: int) -> None:
    good = "2123400123457"
    for digit in "0123456789":
        if digit == good[position] or (position == 0 and digit != "2"):
            continue
        bad = good[:position] + digit + good[position + 1 :]
        with pytest.raises(LabelError, match="check digit"):
            decode(bad, ScaleMask.parse(DEFAULT_MASK))


@pytest.mark.parametrize(
    ("barcode", "reason"),
    [
        ("212340012345", "not 13 digits"),
        ("21234001234570", "not 13 digits"),
        ("212340012345x", "not 13 digits"),
        (" 2123400123457", "not 13 digits"),
        ("²123400123457", "not 13 digits"),
        ("212340012345٧", "not 13 digits"),
        ("", "not 13 digits"),
        ("7891234567895", "does not start with 2"),
    ],
)
def test_what_is_not_a_scale_label_is_refused(barcode: str, reason: str) -> None:
    assert not is_scale_label(barcode)
    with pytest.raises(LabelError, match=reason) as caught:
        decode(barcode, ScaleMask.parse(DEFAULT_MASK))
    assert caught.value.barcode == barcode


def test_the_message_escapes_and_cuts_hostile_input() -> None:
    hostile = "2\n<script>" + "9" * 500
    with pytest.raises(LabelError) as caught:
        decode(hostile, ScaleMask.parse(DEFAULT_MASK))
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 120


def test_is_scale_label_ignores_the_check_digit() -> None:
    assert is_scale_label("2123400123457")
    assert is_scale_label("2123400123450")
    assert not is_scale_label("7891234567895")


@pytest.mark.parametrize(
    ("mask", "complaint"),
    [
        ("", "14 characters"),
        ("2CCCC0TTTTTT", "14 characters"),
        ("2CCCC0TTTTTTTDV", "14 characters"),
        ("2CCC0TTTTTTDV", "14 characters"),
        ("2CCCC0TTTTTTVD", "14 characters"),
        ("2CCCC0TTTTDVDV", "unexpected"),
        ("2CCCCXTTTTTTDV", "unexpected 'X'"),
        ("2CCCC TTTTTTDV", "unexpected ' '"),
        ("CCCCC0TTTTTTDV", "start with 2"),
        ("TCCCC0TTTTTTDV", "start with 2"),
        ("20000TTTTTTTDV", "at least one C"),
        ("2CCCCCCCCCCCDV", "exactly one group"),
        ("2CCCC0000000DV", "exactly one group"),
        ("2CCCCTTTPPPPDV", "exactly one group"),
        ("2CC0CC0TTTTTDV", "C digits must be contiguous"),
        ("2CCCCTT0TTTTDV", "T digits must be contiguous"),
        ("2CCCCCPP0PPPDV", "P digits must be contiguous"),
    ],
)
def test_malformed_masks_are_refused(mask: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        ScaleMask.parse(mask)


def test_a_mask_cannot_be_built_around_parse() -> None:
    with pytest.raises(ValueError, match="at least one C"):
        ScaleMask("20000TTTTTTTDV")


def test_parse_accepts_what_a_person_types() -> None:
    assert ScaleMask.parse("  2cccc0ttttttdv \n") == ScaleMask(DEFAULT_MASK)


@pytest.mark.parametrize("name", ["toledo", "Toledo", " FILIZOLA ", "urano"])
def test_a_setting_may_name_a_preset_in_any_case(name: str) -> None:
    assert ScaleMask.from_setting(name).text == PRESETS[name.strip().lower()]


def test_a_setting_may_be_a_mask() -> None:
    assert ScaleMask.from_setting("2CCCCCCPPPPPDV").kind == "weight"


def test_a_bad_setting_lists_the_presets() -> None:
    with pytest.raises(ValueError, match="filizola, toledo, urano"):
        ScaleMask.from_setting("prix")


def test_a_label_carries_a_total_or_a_weight_not_both() -> None:
    with pytest.raises(ValueError, match="either"):
        ScaleLabel("2123400123457", 1234, total_cents=1, weight_grams=1)
    with pytest.raises(ValueError, match="either"):
        ScaleLabel("2123400123457", 1234, total_cents=None, weight_grams=None)


# --- Properties --------------------------------------------------------------------------

# A reference for which masks are valid, written differently from the module's own rules.
_VALID_MASK = re.compile(r"2[0-9]*(?:C+[0-9]*(?:T+|P+)|(?:T+|P+)[0-9]*C+)[0-9]*DV")


@st.composite
def masks(draw: st.DrawFn) -> str:
    """Any valid mask: a C group and a T or P group, in either order, among filler digits."""
    plu_len = draw(st.integers(1, 10))
    value_len = draw(st.integers(1, 11 - plu_len))
    letter = draw(st.sampled_from("TP"))
    spare = 11 - plu_len - value_len
    fillers = draw(st.lists(st.sampled_from("0123456789"), min_size=spare, max_size=spare))
    pieces = draw(st.permutations(["C" * plu_len, letter * value_len, *fillers]))
    return "2" + "".join(pieces) + "DV"


@given(masks(), st.data())
def test_encode_then_decode_gives_back_the_values(mask_text: str, data: st.DataObject) -> None:
    mask = ScaleMask.parse(mask_text)
    plu = data.draw(st.integers(0, 10 ** mask_text.count("C") - 1), label="plu")
    value_len = mask_text.count("T") + mask_text.count("P")
    value = data.draw(st.integers(0, 10**value_len - 1), label="value")
    filler = data.draw(st.text("0123456789", min_size=11, max_size=11), label="filler")
    barcode = encode(mask, plu, value, filler)
    label = decode(barcode, mask)
    assert label.barcode == barcode
    assert label.plu == plu
    if "T" in mask_text:
        assert (label.total_cents, label.weight_grams) == (value, None)
    else:
        assert (label.total_cents, label.weight_grams) == (None, value)


@given(st.text("2059CTPDV", min_size=12, max_size=12).map(lambda body: body + "DV") | masks())
def test_parse_accepts_exactly_the_valid_masks(text: str) -> None:
    try:
        ScaleMask.parse(text)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == (_VALID_MASK.fullmatch(text) is not None)


@given(st.text(max_size=20) | st.from_regex(r"2[0-9]{12}", fullmatch=True))
def test_decode_reads_exactly_the_well_formed_labels(barcode: str) -> None:
    mask = ScaleMask.parse(DEFAULT_MASK)
    well_formed = re.fullmatch(r"2[0-9]{12}", barcode) is not None
    if well_formed and _check_digit_by_hand(barcode[:12]) == int(barcode[12]):
        assert decode(barcode, mask).total_cents == int(barcode[6:12])
    else:
        with pytest.raises(LabelError) as caught:
            decode(barcode, mask)
        assert caught.value.barcode == barcode


# --- The messages, in full: the counter shows them as they are ---------------------------


@pytest.mark.parametrize(
    ("barcode", "message"),
    [
        ("212340012345", "scale label 212340012345: not 13 digits"),
        ("7891234567895", "scale label 7891234567895: not a scale label (does not start with 2)"),
        ("2123400123450", "scale label 2123400123450: invalid check digit"),
        ("1" * 40, f"scale label {'1' * 40}: not 13 digits"),  # 40 characters are shown whole
        ("1" * 41, f"scale label {'1' * 40}...: not 13 digits"),  # past that, cut
        ("2\n3", "scale label 2\\n3: not 13 digits"),  # escaped, on one line
    ],
)
def test_a_label_error_names_the_barcode_and_the_reason(barcode: str, message: str) -> None:
    with pytest.raises(LabelError) as caught:
        decode(barcode, ScaleMask.parse(DEFAULT_MASK))
    assert str(caught.value) == message
    assert caught.value.reason == message.rsplit(": ", 1)[1]


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (
            "2CCCC0TTTTTT",
            "scale mask '2CCCC0TTTTTT': must be 12 positions followed by DV (14 characters), "
            "e.g. 2CCCC0TTTTTTDV",
        ),
        (
            "2CCXY0TTTTTTDV",
            "scale mask '2CCXY0TTTTTTDV': unexpected 'XY'; use C, T, P or digits",
        ),
        ("2CC0CC0TTTTTDV", "scale mask '2CC0CC0TTTTTDV': the C digits must be contiguous"),
        ("2CCCCTT0TTTTDV", "scale mask '2CCCCTT0TTTTDV': the T digits must be contiguous"),
        ("CCCCC0TTTTTTDV", "scale mask 'CCCCC0TTTTTTDV': must start with 2"),
        ("20000TTTTTTTDV", "scale mask '20000TTTTTTTDV': needs at least one C (PLU digit)"),
        (
            "2CCCC0000000DV",
            "scale mask '2CCCC0000000DV': needs exactly one group, T (total) or P (weight)",
        ),
    ],
)
def test_a_mask_error_says_what_is_wrong_in_full(mask: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ScaleMask(mask)


def test_a_bad_setting_keeps_the_masks_reason_and_lists_the_presets() -> None:
    message = (
        "scale mask 'PRIX': must be 12 positions followed by DV (14 characters), "
        "e.g. 2CCCC0TTTTTTDV (or use a preset: filizola, toledo, urano)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ScaleMask.from_setting("prix")


def test_a_label_with_both_or_neither_says_so_in_full() -> None:
    with pytest.raises(ValueError, match=r"^a scale label carries either a total or a weight$"):
        ScaleLabel("2123400123457", 1234, total_cents=None, weight_grams=None)

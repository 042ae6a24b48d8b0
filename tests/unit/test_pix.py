"""PIX BR Code: the Central Bank's vectors, validation, round trips and the QR code."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import pix
from shared.pix import (
    PixCharge,
    PixError,
    build_payload,
    crc16,
    parse_payload,
    plain_text,
    qr_svg,
    read_charge,
)

MANUAL_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
SHOP = PixCharge(
    key="acougue@example.com",
    merchant_name="Açougue São João",
    merchant_city="São Paulo",
    amount_cents=12345,
    txid="VENDA42",
)


def _crc_by_hand(data: bytes) -> int:
    """A bitwise CRC-16/CCITT-FALSE, independent of binascii, to vouch for crc16."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


# --- CRC -------------------------------------------------------------------------------


def test_crc_of_the_check_string() -> None:
    assert crc16(b"123456789") == "29B1"


def test_crc_is_four_upper_case_hex_digits_even_when_small() -> None:
    # 0x0DD9 has a leading zero and letters: the padding and the case both show.
    assert _crc_by_hand(b"11") == 0x0DD9
    assert crc16(b"11") == "0DD9"


@given(st.binary(max_size=64))
def test_crc_matches_a_bitwise_implementation(data: bytes) -> None:
    assert crc16(data) == f"{_crc_by_hand(data):04X}"


# --- The manual's example ----------------------------------------------------------------


def test_the_manual_example_parses_into_its_fields() -> None:
    assert parse_payload(MANUAL_EXAMPLE) == [
        ("00", "01"),
        ("26", "0014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"),
        ("52", "0000"),
        ("53", "986"),
        ("58", "BR"),
        ("59", "Fulano de Tal"),
        ("60", "BRASILIA"),
        ("62", "0503***"),
        ("63", "1D3D"),
    ]


def test_the_manual_example_crc_verifies() -> None:
    assert crc16(MANUAL_EXAMPLE[:-4].encode()) == MANUAL_EXAMPLE[-4:] == "1D3D"


def test_the_manual_example_reads_as_a_charge() -> None:
    assert read_charge(MANUAL_EXAMPLE) == PixCharge(
        key="123e4567-e12b-12d1-a456-426655440000",
        merchant_name="Fulano de Tal",
        merchant_city="BRASILIA",
        amount_cents=None,
        txid=None,
    )


def test_the_manual_example_round_trips_exactly() -> None:
    assert build_payload(read_charge(MANUAL_EXAMPLE)) == MANUAL_EXAMPLE


def test_one_changed_character_fails_the_crc() -> None:
    tampered = MANUAL_EXAMPLE.replace("Fulano", "Fulana")
    with pytest.raises(PixError, match="CRC"):
        parse_payload(tampered)
    with pytest.raises(PixError, match="CRC"):
        read_charge(tampered)


@given(st.data())
def test_any_single_character_change_is_refused(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(MANUAL_EXAMPLE) - 1), label="position")
    original = MANUAL_EXAMPLE[position]
    printable = [c for c in string.printable[:95] if c != original]
    replacement = data.draw(st.sampled_from(printable), label="replacement")
    tampered = MANUAL_EXAMPLE[:position] + replacement + MANUAL_EXAMPLE[position + 1 :]
    with pytest.raises(PixError):
        parse_payload(tampered)


def test_a_lower_case_crc_is_refused() -> None:
    with pytest.raises(PixError, match="CRC"):
        parse_payload(MANUAL_EXAMPLE[:-4] + "1d3d")


# --- Building ----------------------------------------------------------------------------


def test_a_charge_with_amount_and_txid_is_laid_out_as_the_manual_says() -> None:
    payload = build_payload(SHOP)
    body = (
        "000201"
        "26410014br.gov.bcb.pix0119acougue@example.com"
        "52040000"
        "5303986"
        "5406123.45"
        "5802BR"
        "5916Acougue Sao Joao"
        "6009Sao Paulo"
        "62110507VENDA42"
        "6304"
    )
    assert payload == body + f"{_crc_by_hand(body.encode()):04X}"


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (1, "0.01"),
        (5, "0.05"),
        (10, "0.10"),
        (100, "1.00"),
        (12345, "123.45"),
        (10**9, "10000000.00"),
    ],
)
def test_amounts_are_written_from_integer_centavos(cents: int, text: str) -> None:
    payload = build_payload(PixCharge("k", "Loja", "Cidade", cents, None))
    assert f"54{len(text):02d}{text}5802BR" in payload


def test_no_amount_leaves_field_54_out() -> None:
    fields = parse_payload(build_payload(PixCharge("k", "Loja", "Cidade", None, None)))
    assert [field_id for field_id, _ in fields] == [
        "00", "26", "52", "53", "58", "59", "60", "62", "63",
    ]  # fmt: skip


def test_name_and_city_are_plain_and_capped_in_the_payload() -> None:
    charge = PixCharge("k", "Açougue São João do Bairro Novo", "São José dos Campos", None, None)
    fields = dict(parse_payload(build_payload(charge)))
    assert fields["59"] == "Acougue Sao Joao do Bairr"
    assert fields["60"] == "Sao Jose dos Ca"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"key": ""}, "PIX key"),
        ({"key": "x" * 78}, "PIX key"),
        ({"key": "with space@example.com"}, "PIX key"),
        ({"key": "joão@example.com"}, "PIX key"),
        ({"txid": ""}, "txid"),
        ({"txid": "venda-42"}, "txid"),
        ({"txid": "A" * 26}, "txid"),
        ({"merchant_name": "  "}, "merchant name"),
        ({"merchant_name": "日本"}, "merchant name"),
        ({"merchant_city": "\u0301"}, "merchant city"),
        ({"amount_cents": 0}, "amount"),
        ({"amount_cents": -1}, "amount"),
        ({"amount_cents": 10**12}, "amount"),
    ],
)
def test_invalid_charges_are_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PixError, match=complaint):
        build_payload(replace(SHOP, **change))


def test_the_longest_key_and_amount_still_fit() -> None:
    charge = PixCharge("k" * 77, "Loja", "Cidade", 10**12 - 1, "A" * 25)
    assert read_charge(build_payload(charge)) == charge


# --- plain_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "plain"),
    [
        ("Açougue São João", 25, "Acougue Sao Joao"),
        ("ÁÉÍÓÚ áéíóú ÂÊÔ ÃÕ Ü ç", 40, "AEIOU aeiou AEO AO U c"),
        ("  Muitos   espaços\tno\nmeio  ", 40, "Muitos espacos no meio"),
        ("Carnes & Cia. Ltda.", 40, "Carnes & Cia. Ltda."),
        ("Açougue São João", 8, "Acougue"),  # cut, then the trailing blank dropped
        ("Ribeirão Preto do Sul", 15, "Ribeirao Preto"),
        ("日本 Café", 25, "Cafe"),
        ("", 25, ""),
    ],
)
def test_plain_text(text: str, limit: int, plain: str) -> None:
    assert plain_text(text, limit) == plain


@given(st.text(), st.integers(0, 30))
def test_plain_text_is_printable_ascii_within_the_limit(text: str, limit: int) -> None:
    plain = plain_text(text, limit)
    assert len(plain) <= limit
    assert re.fullmatch(r"(?:[!-~]+(?: [!-~]+)*)?", plain)
    assert plain_text(plain, limit) == plain


# --- Reading -----------------------------------------------------------------------------


def _with_crc(body: str) -> str:
    return body + f"{_crc_by_hand(body.encode()):04X}"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "payload must end with the CRC field 63"),
        ("000201", "payload must end with the CRC field 63"),
        (_with_crc("0002016304ABCD6304"), "payload must end with the CRC field 63"),
        ("0002016304", "payload: field 63 is cut short"),
        ("000501", "payload: field 00 is cut short"),
        ("0X0201" + MANUAL_EXAMPLE[6:], "payload: malformed field header at position 0"),
        ("000201630", "payload: malformed field header at position 6"),
        ("0002016303ABC", "field 63 must hold 4 hex digits"),
    ],
)
def test_broken_tlv_is_refused_saying_where(payload: str, message: str) -> None:
    with pytest.raises(PixError, match=f"^{re.escape(message)}$"):
        parse_payload(payload)


def _swap(field_id: str, value: str) -> str:
    """The manual's example with one top-level field replaced and the CRC recomputed."""
    fields = [(i, value if i == field_id else v) for i, v in parse_payload(MANUAL_EXAMPLE)]
    return _with_crc("".join(f"{i}{len(v):02d}{v}" for i, v in fields[:-1]) + "6304")


@pytest.mark.parametrize(
    ("field_id", "wanted", "wrong"),
    [("00", "01", "02"), ("52", "0000", "5411"), ("53", "986", "840"), ("58", "BR", "US")],
)
def test_read_charge_refuses_another_value_in_a_fixed_field(
    field_id: str, wanted: str, wrong: str
) -> None:
    payload = _swap(field_id, wrong)
    parse_payload(payload)  # the TLV and the CRC are fine: the content is what is wrong
    with pytest.raises(PixError, match=f"^field {field_id} must be '{wanted}', not '{wrong}'$"):
        read_charge(payload)


def _with_amount(text: str) -> str:
    head, tail = MANUAL_EXAMPLE[:-8].split("5802BR")
    return _with_crc(f"{head}54{len(text):02d}{text}5802BR{tail}6304")


@pytest.mark.parametrize(
    ("text", "cents"), [("123.45", 12345), ("0.05", 5), ("10", 1000), ("1.5", 150)]
)
def test_read_charge_accepts_emv_amount_forms(text: str, cents: int) -> None:
    assert read_charge(_with_amount(text)).amount_cents == cents


@pytest.mark.parametrize("text", ["0.00", "1,50", "1.555", "-1.00", ".50", "1e3", "1 .00"])
def test_read_charge_refuses_bad_amounts(text: str) -> None:
    with pytest.raises(PixError, match="field 54"):
        read_charge(_with_amount(text))


# --- Round trips -------------------------------------------------------------------------

_PLAIN = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)
keys = st.one_of(
    st.emails().filter(lambda e: len(e) <= 77),
    st.from_regex(r"\+55[1-9]{2}9[0-9]{8}", fullmatch=True),
    st.from_regex(r"[0-9]{11}|[0-9]{14}", fullmatch=True),  # CPF, CNPJ
    st.uuids().map(str),
)
txids = st.none() | st.from_regex(r"[A-Za-z0-9]{1,25}", fullmatch=True)
amounts = st.none() | st.integers(1, 10**9)


@given(
    keys,
    _PLAIN.map(lambda t: plain_text(t, 25)).filter(bool),
    _PLAIN.map(lambda t: plain_text(t, 15)).filter(bool),
    amounts,
    txids,
)
def test_any_valid_charge_round_trips(
    key: str, name: str, city: str, amount: int | None, txid: str | None
) -> None:
    charge = PixCharge(key, name, city, amount, txid)
    payload = build_payload(charge)
    assert read_charge(payload) == charge
    assert build_payload(read_charge(payload)) == payload


@given(keys, st.text(), st.text(), amounts, txids)
def test_any_name_and_city_come_back_as_their_plain_text(
    key: str, name: str, city: str, amount: int | None, txid: str | None
) -> None:
    try:
        payload = build_payload(PixCharge(key, name, city, amount, txid))
    except PixError:
        assert not plain_text(name, 25) or not plain_text(city, 15)
        return
    charge = read_charge(payload)
    assert charge.merchant_name == plain_text(name, 25)
    assert charge.merchant_city == plain_text(city, 15)


# --- QR code -----------------------------------------------------------------------------


def test_qr_svg_is_a_standalone_svg_document() -> None:
    svg = qr_svg(MANUAL_EXAMPLE)
    assert svg.startswith(("<?xml", "<svg"))
    assert "<svg" in svg
    root = ElementTree.fromstring(svg.encode())  # noqa: S314 (our own output, not input)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.attrib["width"]) >= 200


def test_qr_svg_depends_on_the_payload() -> None:
    assert qr_svg(MANUAL_EXAMPLE) != qr_svg(build_payload(SHOP))


def _modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The dark modules of segno's SVG path (absolute, border included) and the scale."""
    path = ElementTree.fromstring(svg.encode()).find("{http://www.w3.org/2000/svg}path")  # noqa: S314
    assert path is not None
    scale = re.fullmatch(r"scale\((\d+)\)", path.attrib["transform"])
    assert scale is not None
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmh])([-0-9. ]+)", path.attrib["d"]):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(values[0])))
            x += values[0]
    return int(scale.group(1)), dark


def _error_level(svg: str, border: int) -> str:
    """The error correction level in the symbol's format information (ISO/IEC 18004 7.9),
    read from the modules beside the top-left finder pattern."""
    _, dark = _modules(svg)
    places = [(8, i) for i in range(6)] + [(8, 7), (8, 8), (7, 8)]
    places += [(14 - i, 8) for i in range(9, 15)]
    bits = sum(1 << i for i, (x, y) in enumerate(places) if (x + border, y + border) in dark)
    return {1: "L", 0: "M", 3: "Q", 2: "H"}[(bits ^ 0x5412) >> 13]


@pytest.mark.parametrize("payload", [MANUAL_EXAMPLE, "PIX", "0002012"])
def test_qr_svg_is_level_m_with_a_4_module_quiet_zone_at_5_px(payload: str) -> None:
    """Short payloads too: segno would raise their level, which must stay M."""
    svg = qr_svg(payload)
    assert svg.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg')
    root = ElementTree.fromstring(svg.encode())  # noqa: S314 (our own output, not input)
    assert root.findtext("{http://www.w3.org/2000/svg}title") == "PIX"
    scale, dark = _modules(svg)
    assert scale == 5
    size = max(x for x, _ in dark) + 1 - 4  # the finder patterns reach the last module
    assert min(x for x, _ in dark) == min(y for _, y in dark) == 4  # the quiet zone
    assert int(root.attrib["width"]) == int(root.attrib["height"]) == (size + 8) * 5
    assert size in range(21, 178, 4)  # a regular QR code (versions 1-40), never a Micro QR
    assert _error_level(svg, 4) == "M"


def test_the_manual_example_is_a_version_8_symbol() -> None:
    # 120 bytes at level M need version 8 (49 modules): 49 + 8 quiet modules, 5 px each
    assert 'width="285" height="285"' in qr_svg(MANUAL_EXAMPLE)


# --- Messages in full: they reach the counter and the API as the problem's detail -----


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": ""}, "PIX key must be 1 to 77 printable ASCII characters without spaces"),
        ({"txid": "venda-42"}, "txid must be 1 to 25 letters or digits (A-Z, a-z, 0-9)"),
        ({"merchant_name": "日本"}, "merchant name must have letters or digits"),
        ({"merchant_city": " "}, "merchant city must have letters or digits"),
        ({"amount_cents": 0}, "amount must be a positive number of centavos"),
        ({"amount_cents": True}, "amount must be a positive number of centavos"),
        ({"amount_cents": 10**12}, "amount is too large for a PIX payload"),
    ],
)
def test_a_refused_charge_says_why_in_full(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PixError, match=f"^{re.escape(message)}$"):
        build_payload(replace(SHOP, **change))


def test_a_field_over_99_characters_is_refused() -> None:
    """Build_payload's own checks keep every field within 99; this is the last guard."""
    assert pix._tlv("26", "x" * 99) == "2699" + "x" * 99
    with pytest.raises(PixError, match=r"^field 26 is longer than 99 characters$"):
        pix._tlv("26", "x" * 100)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            _with_crc(MANUAL_EXAMPLE[:-8].replace("5802BR", "5802BR5802BR") + "6304"),
            "unexpected fields for a static PIX charge: 00 26 52 53 58 58 59 60 62 63",
        ),
        (_swap("26", "0014br.gov.bcb.pix"), "field 26 must hold exactly 00 (GUI) and 01 (key)"),
        (_swap("26", "0014br.gov.bcb.pix01"), "field 26: malformed field header at position 18"),
        (
            _swap("26", "0014br.gov.bcb.xxx0101k"),
            "field 26/00 must be 'br.gov.bcb.pix', not 'br.gov.bcb.xxx'",
        ),
        (_swap("62", "0503***0702xx"), "field 62 must hold exactly 05 (txid)"),
        (_swap("62", "0509***"), "field 62: field 05 is cut short"),
        (
            _with_crc("010211" + MANUAL_EXAMPLE[:-8] + "6304"),
            "unexpected fields for a static PIX charge: 01 00 26 52 53 58 59 60 62 63",
        ),
        (
            _swap("26", "0014br.gov.bcb.pix0101k0203abc"),
            "field 26 must hold exactly 00 (GUI) and 01 (key)",
        ),
        (
            _swap("26", "0014br.gov.bcb.pix0103a b"),
            "PIX key must be 1 to 77 printable ASCII characters without spaces",
        ),
        (_swap("62", "0508venda-42"), "txid must be 1 to 25 letters or digits (A-Z, a-z, 0-9)"),
        (_swap("59", "Fulano de Tál"), "field 59 must be a plain-text name of at most 25"),
        (_swap("60", "BRASILIA DO NORTE"), "field 60 must be a plain-text city of at most 15"),
        (_swap("60", ""), "field 60 must be a plain-text city of at most 15"),
        (_with_amount("0.00"), "field 54 must be a positive amount"),
        (_with_amount("1,50"), "field 54 is not an amount: '1,50'"),
    ],
)
def test_read_charge_says_what_is_wrong_in_full(payload: str, message: str) -> None:
    """Only what build_payload would never write; the TLV and the CRC are fine."""
    parse_payload(payload)
    with pytest.raises(PixError, match=f"^{re.escape(message)}$"):
        read_charge(payload)


@pytest.mark.parametrize(("text", "cents"), [("0.01", 1), ("0.1", 10), ("1", 100)])
def test_read_charge_accepts_the_smallest_amounts(text: str, cents: int) -> None:
    assert read_charge(_with_amount(text)).amount_cents == cents


@pytest.mark.parametrize(
    ("text", "limit", "plain"),
    [
        ("ﬁ", 25, "fi"),  # NFKD, not NFD: the ligature becomes its letters
        ("Ｌｏｊａ", 25, "Loja"),  # full-width letters too
        ("a\u00a0b", 25, "a b"),  # a no-break space is a blank
        ("~ !", 25, "~ !"),  # both ends of printable ASCII are kept
        ("a\x7fb\x07c", 25, "abc"),  # DEL and control characters are not
        ("  ab", 25, "ab"),
        ("ab  cd", 3, "ab"),  # cut at the blank: the blank is dropped, not the start
    ],
)
def test_plain_text_edges(text: str, limit: int, plain: str) -> None:
    assert plain_text(text, limit) == plain

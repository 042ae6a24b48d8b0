"""PIX "copia e cola" payloads (BR Code) and their QR codes.

A BR Code is an EMV® QRCPS-MPM string of TLV fields, `ID(2) LEN(2) VALUE`, closed by a
CRC-16/CCITT-FALSE over everything before it (including the `6304` of the CRC field
itself). The Central Bank's manual fixes which fields a static PIX charge carries; this
module writes exactly those and reads back only payloads of the same shape, so a payload
that reads cleanly is one this shop could have issued.
"""

from __future__ import annotations

import binascii
import io
import re
import unicodedata
from dataclasses import dataclass

import segno

from shared.domain_errors import Invalid

GUI = "br.gov.bcb.pix"
NO_TXID = "***"  # what the manual prescribes when the charge carries no txid
NAME_LIMIT = 25
CITY_LIMIT = 15
# Field 26 holds at most 99 characters: "0014br.gov.bcb.pix" (18) + "01" + LEN (4) + key.
KEY_LIMIT = 99 - 18 - 4
AMOUNT_LIMIT = 13  # field 54's maximum length, decimal point included

_TXID = re.compile(r"[A-Za-z0-9]{1,25}")
_KEY = re.compile(r"[!-~]+")  # printable ASCII without spaces: e-mail, phone, CPF/CNPJ, UUID
_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")


class PixError(Invalid):
    """A charge that cannot be written or a payload that cannot be trusted; safe to show."""


def crc16(data: bytes) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as the 4 upper-case hex digits of field 63."""
    return f"{binascii.crc_hqx(data, 0xFFFF):04X}"


def plain_text(text: str, limit: int) -> str:
    """Text for fields 59/60: accents dropped, printable ASCII only, blanks squeezed, cut.

    Payer apps show these fields verbatim and many mishandle anything beyond plain ASCII,
    which is why the manual asks for names and cities without accents.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    spaced = "".join(" " if c.isspace() else c for c in decomposed)
    kept = "".join(c for c in spaced if " " <= c <= "~")
    return " ".join(kept.split())[:limit].rstrip()


@dataclass(frozen=True)
class PixCharge:
    """A static PIX charge: who is paid, optionally how much and under which txid."""

    key: str
    merchant_name: str
    merchant_city: str
    amount_cents: int | None
    txid: str | None


def _tlv(field_id: str, value: str) -> str:
    if len(value) > 99:
        raise PixError(f"field {field_id} is longer than 99 characters")
    return f"{field_id}{len(value):02d}{value}"


def _amount_text(cents: int) -> str:
    """Integer centavos as "123.45", avoiding floats so no centavo is ever rounded away."""
    if isinstance(cents, bool) or cents <= 0:
        raise PixError("amount must be a positive number of centavos")
    text = f"{cents // 100}.{cents % 100:02d}"
    if len(text) > AMOUNT_LIMIT:
        raise PixError("amount is too large for a PIX payload")
    return text


def _amount_cents(text: str) -> int:
    match = _AMOUNT.fullmatch(text)
    if match is None or len(text) > AMOUNT_LIMIT:
        raise PixError(f"field 54 is not an amount: {text!r}")
    whole, fraction = match.groups()
    cents = int(whole) * 100 + int((fraction or "").ljust(2, "0"))
    if cents <= 0:
        raise PixError("field 54 must be a positive amount")
    return cents


def _check_key(key: str) -> str:
    if not key or len(key) > KEY_LIMIT or _KEY.fullmatch(key) is None:
        raise PixError(
            f"PIX key must be 1 to {KEY_LIMIT} printable ASCII characters without spaces"
        )
    return key


def _check_txid(txid: str) -> str:
    if _TXID.fullmatch(txid) is None:
        raise PixError("txid must be 1 to 25 letters or digits (A-Z, a-z, 0-9)")
    return txid


def _plain_field(text: str, limit: int, what: str) -> str:
    plain = plain_text(text, limit)
    if not plain:
        raise PixError(f"{what} must have letters or digits")
    return plain


def build_payload(charge: PixCharge) -> str:
    """The "copia e cola" string; name and city pass through plain_text first."""
    key = _check_key(charge.key)
    name = _plain_field(charge.merchant_name, NAME_LIMIT, "merchant name")
    city = _plain_field(charge.merchant_city, CITY_LIMIT, "merchant city")
    txid = NO_TXID if charge.txid is None else _check_txid(charge.txid)
    amount = "" if charge.amount_cents is None else _tlv("54", _amount_text(charge.amount_cents))
    body = (
        _tlv("00", "01")
        + _tlv("26", _tlv("00", GUI) + _tlv("01", key))
        + _tlv("52", "0000")
        + _tlv("53", "986")
        + amount
        + _tlv("58", "BR")
        + _tlv("59", name)
        + _tlv("60", city)
        + _tlv("62", _tlv("05", txid))
        + "6304"
    )
    return body + crc16(body.encode("ascii"))


def _fields(text: str, where: str) -> list[tuple[str, str]]:
    """Splits TLV text into (id, value) pairs, refusing anything that does not tile exactly."""
    fields: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        head = text[at : at + 4]
        if len(head) < 4 or not (head.isascii() and head.isdigit()):
            raise PixError(f"{where}: malformed field header at position {at}")
        length = int(head[2:])
        value = text[at + 4 : at + 4 + length]
        if len(value) < length:
            raise PixError(f"{where}: field {head[:2]} is cut short")
        fields.append((head[:2], value))
        at += 4 + length
    return fields


def parse_payload(payload: str) -> list[tuple[str, str]]:
    """Top-level fields in order, after checking the TLV structure and the CRC."""
    fields = _fields(payload, "payload")
    ids = [field_id for field_id, _ in fields]
    if not ids or ids[-1] != "63" or ids.count("63") != 1:
        raise PixError("payload must end with the CRC field 63")
    crc = fields[-1][1]
    if len(crc) != 4:
        raise PixError("field 63 must hold 4 hex digits")
    expected = crc16(payload[:-4].encode("utf-8"))
    if crc != expected:
        raise PixError(f"CRC mismatch: the payload says {crc!r}, its content gives {expected}")
    return fields


def _expect(value: str, wanted: str, field_id: str) -> None:
    if value != wanted:
        raise PixError(f"field {field_id} must be {wanted!r}, not {value!r}")


def read_charge(payload: str) -> PixCharge:
    """The charge a payload describes: the inverse of build_payload, for payloads it writes."""
    fields = parse_payload(payload)
    ids = [field_id for field_id, _ in fields]
    layout = ["00", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    if ids not in (layout, [i for i in layout if i != "54"]):
        raise PixError(f"unexpected fields for a static PIX charge: {' '.join(ids)}")
    value = dict(fields)
    _expect(value["00"], "01", "00")
    _expect(value["52"], "0000", "52")
    _expect(value["53"], "986", "53")
    _expect(value["58"], "BR", "58")

    account = _fields(value["26"], "field 26")
    if [i for i, _ in account] != ["00", "01"]:
        raise PixError("field 26 must hold exactly 00 (GUI) and 01 (key)")
    _expect(account[0][1], GUI, "26/00")
    key = _check_key(account[1][1])

    extra = _fields(value["62"], "field 62")
    if [i for i, _ in extra] != ["05"]:
        raise PixError("field 62 must hold exactly 05 (txid)")
    txid = None if extra[0][1] == NO_TXID else _check_txid(extra[0][1])

    for field_id, limit, what in (("59", NAME_LIMIT, "name"), ("60", CITY_LIMIT, "city")):
        if not value[field_id] or plain_text(value[field_id], limit) != value[field_id]:
            raise PixError(f"field {field_id} must be a plain-text {what} of at most {limit}")
    amount = _amount_cents(value["54"]) if "54" in value else None
    return PixCharge(key, value["59"], value["60"], amount, txid)


def qr_svg(payload: str) -> str:
    """The payload as a standalone SVG QR code: level M, 4-module quiet zone, 5 px modules.

    segno would silently raise the level when the symbol has room; it is pinned at M so
    the code is exactly what was asked for, whatever the payload's length.
    """
    code = segno.make(payload, error="m", micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=5, border=4, title="PIX", xmldecl=True, svgns=True)
    return out.getvalue().decode("utf-8")

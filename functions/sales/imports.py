"""The CSV of past sales a shop brings from its old program (issue 18), read without I/O.

One row per item; the rows of one `legacy_id` are one sale. Columns (a header row names
them, in any order; `,` or `;` between them, as spreadsheets in Brazil save):

    legacy_id,occurred_at,product,quantity,unit_price_cents,method,installments,discount_cents

- `occurred_at`: ISO 8601 with its offset (`2026-03-14T10:05:00-03:00`) or the shop's
  `dd/mm/aaaa hh:mm[:ss]` in São Paulo time.
- `product`: the product's id, its PLU (1 to 4 digits) or its barcode (more digits).
- `quantity`: `1,250` or `1.250` (the decimal separator either way: 3 places at most).
- `unit_price_cents`, `discount_cents`: whole centavos; `discount_cents` is the sale's.
- `method`: pix, debit, credit, cash (or débito, crédito, dinheiro); `installments`: credit.

`occurred_at`, `method`, `installments` and `discount_cents` belong to the sale: a later row
of the same sale may leave them empty, but may not say something else. Every error names
its row (the file's line number, the header being line 1), at most MAX_ERRORS of them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.shop_time import SHOP_ZONE

COLUMNS = (
    "legacy_id",
    "occurred_at",
    "product",
    "quantity",
    "unit_price_cents",
    "method",
    "installments",
    "discount_cents",
)
# The sale's own columns: the same on each of its rows (or empty on the later ones).
SALE_COLUMNS = ("occurred_at", "method", "installments", "discount_cents")
MAX_ERRORS = 50
# About MAX_IMPORT_CSV_BYTES / 50: more rows than that is not one request's import.
MAX_ROWS = 20_000
METHODS = {
    "pix": "pix",
    "debit": "debit",
    "debito": "debit",
    "débito": "debit",
    "credit": "credit",
    "credito": "credit",
    "crédito": "credit",
    "cash": "cash",
    "dinheiro": "cash",
}
_QUANTITY = re.compile(r"^\d{1,4}(?:[.,]\d{1,3})?$")
_CENTS = re.compile(r"^\d{1,12}$")
_SHOP_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


@dataclass(frozen=True)
class CsvItem:
    row: int
    product: str
    quantity: Decimal
    unit_price_cents: int


@dataclass
class CsvSale:
    """One sale's rows, parsed; the model (ImportedSaleIn) validates the rest."""

    legacy_id: str
    row: int  # its first row
    values: dict[str, Any] = field(default_factory=dict)
    items: list[CsvItem] = field(default_factory=list)


class CsvRefused(Exception):
    """The file cannot be imported: `errors` names each row and column at fault."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


class _Errors:
    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []
        self.more = False

    def add(self, row: int, column: str | None, msg: str) -> None:
        if len(self.found) >= MAX_ERRORS:
            self.more = True
            return
        error: dict[str, Any] = {"row": row, "msg": msg}
        if column is not None:
            error["column"] = column
        self.found.append(error)

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_ERRORS

    def raise_any(self) -> None:
        if self.found:
            if self.more:
                self.found.append({"row": None, "msg": f"more errors after the first {MAX_ERRORS}"})
            raise CsvRefused(self.found)


def parse_time(text: str) -> datetime:
    """ISO 8601 with an offset, or the shop's dd/mm/aaaa hh:mm in São Paulo time."""
    for shop_format in _SHOP_FORMATS:
        try:
            return datetime.strptime(text, shop_format).replace(tzinfo=SHOP_ZONE)
        except ValueError:
            continue
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date and time: ISO 8601 with offset or dd/mm/aaaa hh:mm") from None
    if when.tzinfo is None:
        raise ValueError("an ISO 8601 time needs its offset (e.g. -03:00)")
    return when


def parse_quantity(text: str) -> Decimal:
    """The shop's "1,250" or "1.250": 1.250 either way (kg or units, 3 places at most)."""
    if not _QUANTITY.match(text):
        raise ValueError('not a quantity such as "1,250" or "1.250"')
    return Decimal(text.replace(",", ".")).quantize(Decimal("0.001"))


def _cents(text: str) -> int:
    if not _CENTS.match(text):
        raise ValueError("not a whole number of centavos")
    return int(text)


def _method(text: str) -> str:
    found = METHODS.get(text.lower())
    if found is None:
        raise ValueError("not a payment method: pix, debit, credit or cash")
    return found


def _installments(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 2:
        raise ValueError("not a number of installments")
    return int(text)


_SALE_PARSERS = {
    "occurred_at": parse_time,
    "method": _method,
    "installments": _installments,
    "discount_cents": _cents,
}


def _header(row: list[str], errors: _Errors) -> dict[str, int]:
    names = [name.strip().lower() for name in row]
    index = {name: i for i, name in enumerate(names)}
    for name in names:
        if name not in COLUMNS:
            errors.add(1, name, f"unknown column; the columns are {', '.join(COLUMNS)}")
    for name in COLUMNS:
        if name not in index:
            errors.add(1, name, "missing column")
    if len(index) != len(names):
        errors.add(1, None, "a column is named twice")
    errors.raise_any()
    return index


def _delimiter(first_line: str) -> str:
    return ";" if ";" in first_line and "," not in first_line else ","


def parse_sales_csv(data: bytes) -> list[CsvSale]:
    """The sales of a CSV file (UTF-8, with or without BOM), in the order they first
    appear; raises CsvRefused naming every bad row (up to MAX_ERRORS)."""
    errors = _Errors()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvRefused([{"row": None, "msg": f"not UTF-8 text (byte {exc.start})"}]) from None
    if "\x00" in text:
        raise CsvRefused([{"row": None, "msg": "the file holds NUL characters"}])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    header: dict[str, int] | None = None
    sales: dict[str, CsvSale] = {}
    rows = 0
    try:
        for cells in reader:
            row = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _header(cells, errors)
                continue
            rows += 1
            if rows > MAX_ROWS:
                errors.add(row, None, f"more than {MAX_ROWS} rows: split the file")
                break
            if len(cells) != len(header):
                errors.add(row, None, f"{len(cells)} cells; the header names {len(header)}")
            else:
                _row(row, {name: cells[i].strip() for name, i in header.items()}, sales, errors)
            if errors.full:
                errors.more = True
                break
    except csv.Error as exc:
        errors.add(reader.line_num, None, f"not CSV: {exc}")
    if header is None:
        errors.add(1, None, f"empty file: a header row names the columns {', '.join(COLUMNS)}")
    elif not sales and not errors.found:
        errors.add(2, None, "no sales in the file")
    errors.raise_any()
    return list(sales.values())


def _row(row: int, cell: dict[str, str], sales: dict[str, CsvSale], errors: _Errors) -> None:
    legacy_id = cell["legacy_id"]
    if not legacy_id:
        errors.add(row, "legacy_id", "empty: each row names its sale")
        return
    sale = sales.get(legacy_id)
    first = sale is None
    if sale is None:
        sale = sales[legacy_id] = CsvSale(legacy_id=legacy_id, row=row)
    for name in SALE_COLUMNS:
        given = cell[name]
        if not given:
            if first and name in ("occurred_at", "method"):
                errors.add(row, name, "empty on the sale's first row")
            continue
        try:
            value = _SALE_PARSERS[name](given)
        except ValueError as exc:
            errors.add(row, name, str(exc))
            continue
        if name in sale.values and sale.values[name] != value:
            errors.add(row, name, f"differs from the earlier rows of sale {legacy_id}")
        sale.values.setdefault(name, value)
    try:
        quantity = parse_quantity(cell["quantity"])
        price = _cents(cell["unit_price_cents"])
    except ValueError as exc:
        column = "unit_price_cents" if _QUANTITY.match(cell["quantity"]) else "quantity"
        errors.add(row, column, str(exc))
        return
    if not cell["product"]:
        errors.add(row, "product", "empty: a product id, PLU or barcode")
        return
    sale.items.append(CsvItem(row, cell["product"], quantity, price))

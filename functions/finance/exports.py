"""The finance CSV downloads: what a Brazilian spreadsheet opens (semicolons, decimal comma,
UTF-8 with BOM), with no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from functions.finance.reports import FIGURES
from shared import shop_time

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): =, +, -, @, tab, CR.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A number as reais() writes it (-1234,56): a spreadsheet reads it as a number, never a formula.
_NUMBER = re.compile(r"-?\d+(,\d+)?")


def safe_cell(cell: str) -> str:
    """The cell as text that no spreadsheet evaluates: a leading ' before a formula start.

    Applied to every cell, so a description typed by a user ("=HYPERLINK(...)", "-2+3")
    is shown as written; numbers (negative amounts included) stay numbers.
    """
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def reais(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole},{part:02d}"


def to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return "\ufeff" + out.getvalue()


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    """The result (reports.result) by period, then its total."""
    header = [
        "período",
        "receita",
        "cmv",
        "lucro bruto",
        "despesas",
        "perdas",
        "outras receitas",
        "resultado",
    ]
    rows = [header] + [[s["period"], *(reais(s[k]) for k in FIGURES)] for s in data["series"]]
    rows.append(["total", *(reais(data[k]) for k in FIGURES)])
    return rows


def entry_rows(entries: list[dict[str, Any]]) -> list[list[str]]:
    """One row per line of each ledger entry, dated in the shop's time."""
    rows = [["data", "lançamento", "origem", "descrição", "conta", "débito", "crédito"]]
    for entry in entries:
        local = entry["occurred_at"].astimezone(shop_time.SHOP_ZONE)
        for line in entry["lines"]:
            rows.append(
                [
                    local.strftime("%d/%m/%Y %H:%M"),
                    str(entry["id"]),
                    entry["cause"],
                    entry["description"],
                    line["account"],
                    reais(int(line["debit_cents"])),
                    reais(int(line["credit_cents"])),
                ]
            )
    return rows

"""The shop's web UI (server-rendered pages in Brazilian Portuguese), mounted by the gateway.

Each page is a Jinja2 template: the layout, the navigation, the forms and their labels.
The data come from the same public /api as any other client, called by the page's script
with the access token it keeps in memory (never in localStorage); the refresh token is
the auth function's HttpOnly cookie. The API checks every role again: hiding a screen
from a role here is a convenience, not the protection.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from shared.auth.principal import Role

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

ADMIN, ESTOQUISTA, VENDEDOR = Role.ADMIN.value, Role.ESTOQUISTA.value, Role.VENDEDOR.value
ROLE_NAMES = {ADMIN: "Administrador", ESTOQUISTA: "Estoquista", VENDEDOR: "Vendedor"}

# The scale-label layouts the sales functions accept (functions/sales/scale_labels.py):
# repeated here because the gateway's image does not carry the sales code; a test checks
# that both agree. The POS decodes a label only to show its line at once; the sale
# function decodes it again with its own setting and its answer is what is charged.
SCALE_LABEL_PRESETS = {
    "toledo": "2CCCC0TTTTTTDV",
    "filizola": "2CCCCCTTTTTTDV",
    "urano": "2CCCCCCTTTTTDV",
}
DEFAULT_SCALE_LABEL_MASK = SCALE_LABEL_PRESETS["toledo"]

# Only this origin: scripts, styles, data; QR codes are shown from blob: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Page:
    slug: str
    path: str
    title: str
    roles: tuple[str, ...]
    in_nav: bool = True

    @property
    def roles_attr(self) -> str:
        return " ".join(self.roles)


PAGES: tuple[Page, ...] = (
    Page("painel", "/painel", "Painel", (ADMIN,)),
    Page("caixa", "/caixa", "Caixa", (ADMIN, VENDEDOR)),
    Page("produtos", "/produtos", "Produtos", (ADMIN, ESTOQUISTA, VENDEDOR)),
    Page("estoque", "/estoque", "Estoque", (ADMIN, ESTOQUISTA)),
    Page("vendas", "/vendas", "Vendas", (ADMIN, VENDEDOR)),
    Page("clientes", "/clientes", "Clientes", (ADMIN, VENDEDOR)),
    Page("meu-caixa", "/meu-caixa", "Meu caixa", (ADMIN, VENDEDOR)),
    Page("financeiro", "/financeiro", "Financeiro", (ADMIN,)),
    Page("fornecedores", "/fornecedores", "Fornecedores", (ADMIN, ESTOQUISTA)),
    Page("recebiveis", "/recebiveis", "Recebíveis", (ADMIN,)),
    Page("usuarios", "/usuarios", "Usuários", (ADMIN,)),
    Page("eventos", "/eventos", "Eventos", (ADMIN,)),
)
HOME = Page("inicio", "/", "Início", (ADMIN, ESTOQUISTA, VENDEDOR), in_nav=False)


def scale_label_mask(setting: str | None = None) -> str:
    """The layout the gateway's POS previews labels with: SCALE_LABEL_MASK, as for sales."""
    raw = (setting if setting is not None else os.environ.get("SCALE_LABEL_MASK", "")).strip()
    if not raw:
        return DEFAULT_SCALE_LABEL_MASK
    preset = SCALE_LABEL_PRESETS.get(raw.lower())
    if preset:
        return preset
    mask = raw.upper()
    body = mask[:-2]
    valid = (
        len(mask) == 14
        and mask.endswith("DV")
        and body.startswith("2")
        and set(body) <= set("0123456789CTP")
        and "C" in body
        and ("T" in body) != ("P" in body)
    )
    return mask if valid else DEFAULT_SCALE_LABEL_MASK


def format_brl(cents: int) -> str:
    """R$ 1.234,56 from integer centavos (a normal space after R$, as people type it)."""
    sign = "-" if cents < 0 else ""
    reais, centavos = divmod(abs(cents), 100)
    return f"{sign}R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def format_quantity(quantity: str | Decimal, unit: str = "kg") -> str:
    """1,250 kg from the API's "1.250"; whole units for `un` (3 un)."""
    value = Decimal(str(quantity))
    if unit == "un" and value == value.to_integral_value():
        return f"{int(value):,}".replace(",", ".") + " un"
    fixed = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    sign = "-" if fixed < 0 else ""
    whole, frac = f"{abs(fixed):.3f}".split(".")
    return f"{sign}{int(whole):,}".replace(",", ".") + f",{frac} {unit}"


@cache
def _asset_version(path: str) -> str:
    try:
        return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]
    except OSError:
        return "0"


def asset(path: str) -> str:
    """A static file's URL with a content hash, so a new release is never served stale."""
    return f"/static/{path}?v={_asset_version(path)}"


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(asset=asset, role_names=ROLE_NAMES)
templates.env.filters.update(brl=format_brl, quantity=format_quantity)


def _render(request: Request, template: str, page: Page, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        template,
        {
            "page": page,
            "pages": [p for p in PAGES if p.in_nav],
            "scale_label_mask": scale_label_mask(),
            **context,
        },
        headers=SECURITY_HEADERS,
    )
    return response


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return _render(request, "inicio.html", HOME)


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request) -> HTMLResponse:
    return _render(request, "login.html", Page("login", "/login", "Entrar", ()))


@router.get("/vendas/{sale_id}")
async def sale_detail(sale_id: UUID) -> RedirectResponse:
    """A sale's own address opens the sales page on it."""
    return RedirectResponse(f"/vendas?venda={sale_id}", status_code=303)


def _page_route(page: Page) -> None:
    async def show(request: Request) -> HTMLResponse:
        return _render(request, f"{page.slug}.html", page)

    router.add_api_route(page.path, show, methods=["GET"], response_class=HTMLResponse)


for _page in PAGES:
    _page_route(_page)

"""The counter asks an admin, on the spot, for a discount above the vendedor's limit (issue 14).

A vendedor types a 50 % discount and presses F2: the API answers 403, the Caixa opens
"Desconto acima do limite — aprovação do administrador", the admin types their own
username and password, the screen asks auth for a one-sale approval and sends the same
sale again with it. When auth does not offer `POST /api/auth/approvals` yet, the test
answers that call itself with an approval signed by auth's own key (what auth would send).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from shared.auth.tokens import ALGORITHM, load_private_key, public_jwk
from tests.browser.support import (
    Watch,
    ean13,
    login,
    money,
    new_context,
    shot,
)
from tests.support.api import client, create_product, create_user
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem

SELLER = ("balcao9", "senha-do-balcao-9")
BARCODE = ean13("789000000009")
TITLE = "Desconto acima do limite — aprovação do administrador"


system = system_fixture("system-approval", requires=("chromium",))


@pytest.fixture(scope="module")
def api(system: RunningSystem) -> Iterator[httpx.Client]:
    """The admin's client, once the vendedor and the product are there."""
    with client(system) as admin_client:
        create_user(admin_client, SELLER[0], SELLER[1], "vendedor")
        create_product(
            admin_client, name="Carvão teste", unit="un", price_cents=10000, barcode=BARCODE
        )
        yield admin_client


def _auth_issues_approvals(system: RunningSystem) -> bool:
    answer = httpx.post(
        system.gateway + "/api/auth/approvals",
        json={"username": "admin", "password": ADMIN_PASSWORD, "purpose": "discount"},
        timeout=15,
    )
    return answer.status_code == 200


def _stand_in_for_auth(system: RunningSystem, admin_id: str, seen: list[dict[str, Any]]) -> Any:
    """Answers POST /api/auth/approvals as auth would: an approval signed by auth's key."""
    key = load_private_key((system.data_dir / "keys" / "signing-key.pem").read_text())

    def answer(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        seen.append(body)
        if body.get("username") != "admin" or body.get("password") != ADMIN_PASSWORD:
            route.fulfill(status=401, content_type="application/problem+json", body="{}")
            return
        now = int(time.time())
        claims = {
            "iss": "acougue-auth",
            "aud": "acougue-approval",
            "sub": admin_id,
            "preferred_username": "admin",
            "role": "admin",
            "purpose": body.get("purpose"),
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        }
        kid = public_jwk(key.public_key())["kid"]
        token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"approval_token": token, "expires_in": 120}),
        )

    return answer


def test_a_discount_above_the_limit_is_approved_by_an_admin_on_the_spot(
    browser: Browser, system: RunningSystem, api: httpx.Client
) -> None:
    watch = Watch()
    watch.allow_http(401, 403)  # the sale above the limit, the admin's wrong password
    context = new_context(browser, watch)
    page: Page = context.new_page()
    seen: list[dict[str, Any]] = []
    admin_id = api.get("/api/me").json()["id"]
    if not _auth_issues_approvals(system):
        page.route("**/api/auth/approvals", _stand_in_for_auth(system, admin_id, seen))
    try:
        login(page, system.gateway, SELLER[0], SELLER[1], "/caixa")
        scan = page.get_by_label("Código de barras, PLU ou nome do produto")

        def line_added() -> None:
            scan.fill(BARCODE)
            scan.press("Enter")
            expect(page.locator("#pos-lines")).to_contain_text("Carvão teste", timeout=3000)

        for attempt in range(10):  # until the counter's catalogue has the new product
            try:
                line_added()
                break
            except AssertionError:
                if attempt == 9:
                    raise
        page.keyboard.press("F6")
        page.get_by_label("Desconto (F6)").fill("50,00")
        page.keyboard.press("Enter")
        expect(page.locator("#pos-total")).to_have_text(money("50,00"))
        page.keyboard.press("F2")

        dialog = page.get_by_role("dialog", name=TITLE)
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(money("10,00"))  # the limit: 10 % of R$ 100,00
        shot(page, "20-caixa-aprovacao-desconto")
        dialog.get_by_label("Usuário do administrador").fill("admin")
        dialog.get_by_label("Senha do administrador").fill("senha-errada")
        dialog.get_by_role("button", name="Aprovar desconto").click()
        expect(dialog.get_by_role("alert")).to_contain_text("Aprovação recusada")
        expect(page.locator("#sale-panel")).to_be_hidden()

        dialog.get_by_label("Senha do administrador").fill(ADMIN_PASSWORD)
        dialog.get_by_role("button", name="Aprovar desconto").click()
        expect(dialog).to_be_hidden()
        panel = page.locator("#sale-panel")
        expect(panel.locator("#sale-status")).to_have_text("Pago")
        expect(panel.locator("#sale-info")).to_contain_text(money("50,00"))
        if seen:  # the stand-in saw exactly what auth will
            asked = {"username": "admin", "password": ADMIN_PASSWORD, "purpose": "discount"}
            assert seen[-1] == asked

        sale_id = panel.locator("#sale-title").inner_text().removeprefix("Venda ").strip()
        sales = api.get("/api/sales", params={"status": "paid"}).json()["items"]
        sale = next(s for s in sales if s["id"].startswith(sale_id))
        assert (sale["discount_cents"], sale["total_cents"]) == (5000, 5000)
        assert sale["discount_approved_by"] == admin_id
    finally:
        context.close()
    watch.check()

"""Auth and security as a real client probes them (issue: roles enforced everywhere)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from shared.auth.tokens import generate_private_key_pem, load_private_key, public_jwk
from shared.contracts import endpoints as api
from shared.contracts.endpoints import Endpoint
from tests.support.api import client, create_product, create_user, sell_when_known, sign_in
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem, wait_for

PASSWORD = "senha-segura-123"
ROLES = ("admin", "estoquista", "vendedor")


@dataclass
class Shop:
    system: RunningSystem
    tokens: dict[str, str]
    user_ids: dict[str, str]
    product_id: str
    trimmings_id: str
    sale_id: str


system = system_fixture("security")


@pytest.fixture(scope="module")
def shop(system: RunningSystem) -> Shop:
    admin = system.admin_token()
    tokens, ids = {"admin": admin}, {}
    with client(system, admin) as api:
        for role in ("estoquista", "vendedor"):
            ids[role] = create_user(api, f"{role}1", PASSWORD, role)
            tokens[role] = sign_in(system, f"{role}1", PASSWORD).json()["access_token"]
        product_id = create_product(api, name="Alcatra", unit="kg", price_cents=6490)
        trimmings_id = create_product(api, name="Aparas", unit="kg", price_cents=0)
        for pid in (product_id, trimmings_id):  # stock's catalogue follows by events
            wait_for(lambda pid=pid: api.get(f"/api/inventory/stock/{pid}").status_code == 200)
    SALE_PRODUCT[:] = [product_id]
    # The vendedor's sale, once the counter's catalogue knows the product (by events).
    body = {"items": [{"product_id": product_id, "quantity": "1"}], "payment": {"method": "pix"}}
    with client(system, tokens["vendedor"]) as seller:
        sale = str(sell_when_known(seller, body)["id"])
    return Shop(system, tokens, ids, product_id, trimmings_id, sale)


SALE_PRODUCT: list[str] = []


# -- the role matrix --------------------------------------------------------------------

# Each endpoint (its method, roles and function from its one declaration, which
# tests/unit/test_endpoints.py holds to DESIGN.md's API table), with a concrete path, a
# body and the answer an allowed caller gets. Every endpoint that asks for a token is here.
Row = tuple[Endpoint, str, Any, int]


def _matrix(shop: Shop) -> list[Row]:
    product, vendedor, sale = shop.product_id, shop.user_ids["vendedor"], shop.sale_id
    receipt = {"product_id": product, "kind": "receipt", "quantity": "1", "unit_cost_cents": 4000}
    expense = {
        "category": "outras",
        "amount_cents": 1000,
        "description": "Material de limpeza",
        "occurred_on": "2026-11-02",
        "paid_with": "cash",
    }
    desossa = {
        "source_product_id": product,
        "source_quantity": "0.500",
        "outputs": [{"product_id": shop.trimmings_id, "quantity": "0.400"}],
    }
    approval = {"username": "admin", "password": ADMIN_PASSWORD, "purpose": "discount"}
    counted = {"day": "2026-11-02", "counted": {"cash": 0}}
    returned = {"items": [{"product_id": product, "quantity": "1"}], "reason": "devolvido"}
    movement = {"kind": "suprimento", "amount_cents": 100, "reason": "troco"}
    till_counted = {"counted": {"cash_cents": 0}}
    paid_in = {"amount_cents": 100, "method": "cash"}
    paid_bill = {"amount_cents": 100, "paid_with": "bank", "paid_on": "2026-11-02"}
    reversal = {"reason": "lançada em dobro"}
    income = {
        "description": "Venda de sebo",
        "amount_cents": 500,
        "received_with": "cash",
        "occurred_on": "2026-11-02",
    }
    return [
        (api.ME, "/api/me", None, 200),
        (api.APPROVE, "/api/auth/approvals", approval, 200),
        (api.LIST_USERS, "/api/users", None, 200),
        (api.CREATE_USER, "/api/users", "new-user", 201),
        (api.UPDATE_USER, f"/api/users/{vendedor}", {"full_name": "Vendedor Um"}, 200),
        (api.LIST_CATEGORIES, "/api/categories", None, 200),
        (api.CREATE_CATEGORY, "/api/categories", "new-category", 201),
        (api.LIST_PRODUCTS, "/api/products", None, 200),
        (api.GET_PRODUCT, f"/api/products/{product}", None, 200),
        (api.CREATE_PRODUCT, "/api/products", "new-product", 201),
        (api.UPDATE_PRODUCT, f"/api/products/{product}", {"price_cents": 6590}, 200),
        (api.RECENT_EVENTS, "/api/events", None, 200),
        (api.DEAD_LETTERS, "/api/dead-letters", None, 200),
        (api.REPLAY_DEAD_LETTER, f"/api/dead-letters/{uuid.uuid4()}/replay", None, 404),
        (api.REGISTER_MOVEMENT, "/api/inventory/movements", receipt, 201),
        (api.REGISTER_BREAKDOWN, "/api/inventory/breakdowns", desossa, 201),
        (api.STOCK_LEVELS, "/api/inventory/stock", None, 200),
        (api.STOCK_OF_PRODUCT, f"/api/inventory/stock/{product}", None, 200),
        (api.STOCK_MOVEMENTS, "/api/inventory/movements", None, 200),
        (api.COMPLETE_SALE, "/api/sales", "new-sale", 201),
        (api.RETRY_PAYMENT, f"/api/sales/{sale}/payments", {"method": "pix"}, 409),
        (api.LIST_SALES, "/api/sales", None, 200),
        (api.GET_SALE, f"/api/sales/{sale}", None, 200),
        (api.PIX_QR_CODE, f"/api/sales/{sale}/pix.svg", None, 200),
        (api.CANCEL_SALE, f"/api/sales/{uuid.uuid4()}/cancel", None, 404),
        (api.RECEIPT, f"/api/sales/{uuid.uuid4()}/receipt", None, 404),
        (api.RETURN_ITEMS, f"/api/sales/{uuid.uuid4()}/returns", returned, 404),
        # Opening twice is 409 for the same operator: an invalid float, refused after the
        # role check, gives every allowed caller the same answer on every pass.
        (api.OPEN_TILL, "/api/till/sessions", {"opening_cents": -1}, 422),
        (api.TILL_SESSIONS, "/api/till/sessions", None, 200),
        (api.TILL_MOVEMENT, f"/api/till/sessions/{uuid.uuid4()}/movements", movement, 404),
        (api.CLOSE_TILL, f"/api/till/sessions/{uuid.uuid4()}/close", till_counted, 404),
        (api.LIST_CUSTOMERS, "/api/customers", None, 200),
        (api.CUSTOMER_STATEMENT, f"/api/customers/{uuid.uuid4()}/statement", None, 404),
        (api.CREATE_CUSTOMER, "/api/customers", "new-customer", 201),
        (api.UPDATE_CUSTOMER, f"/api/customers/{uuid.uuid4()}", {"name": "Outro nome"}, 404),
        (api.CUSTOMER_PAYMENT, f"/api/customers/{uuid.uuid4()}/payments", paid_in, 404),
        (api.POST_EXPENSE, "/api/finance/expenses", expense, 201),
        (
            api.CASH_OPERATION,
            "/api/finance/cash-operations",
            {"kind": "opening", "amount_cents": 10000},
            201,
        ),
        (api.CLOSE_CASH, "/api/finance/cash-closing", counted, 200),
        (api.REPORT, "/api/finance/report", None, 200),
        (api.REPORT_CSV, "/api/finance/report.csv", None, 200),
        (api.ENTRIES, "/api/finance/entries", None, 200),
        (api.ENTRIES_CSV, "/api/finance/entries.csv", None, 200),
        (api.TRIAL_BALANCE, "/api/finance/trial-balance", None, 200),
        (api.CASH_CLOSING, "/api/finance/cash-closing", None, 200),
        # Issue 18: the back office. An unknown id is 404 and an empty import 422 for every
        # allowed caller on every pass; settling a past day again settles nothing more.
        (api.UPDATE_CATEGORY, f"/api/categories/{uuid.uuid4()}", {"name": "Outra"}, 404),
        (api.LIST_SUPPLIERS, "/api/suppliers", None, 200),
        (api.CREATE_SUPPLIER, "/api/suppliers", "new-supplier", 201),
        (api.UPDATE_SUPPLIER, f"/api/suppliers/{uuid.uuid4()}", {"phone": "11 3333-4444"}, 404),
        (api.LIST_PAYABLES, "/api/finance/payables", None, 200),
        (api.PAY_PAYABLE, f"/api/finance/payables/{uuid.uuid4()}/payments", paid_bill, 404),
        (api.LIST_RECEIVABLES, "/api/finance/receivables", None, 200),
        (api.SETTLE_RECEIVABLES, "/api/finance/receivables/settle", {"until": "2026-11-02"}, 200),
        (api.LIST_EXPENSES, "/api/finance/expenses", None, 200),
        (api.REVERSE_EXPENSE, f"/api/finance/expenses/{uuid.uuid4()}/reverse", reversal, 404),
        (api.RECORD_INCOME, "/api/finance/incomes", income, 201),
        (api.DASHBOARD, "/api/dashboard", None, 200),
        (api.IMPORT_SALES, "/api/import/sales", {"sales": []}, 422),
        (api.IMPORT_SALES_CSV, "/api/import/sales.csv", None, 415),  # a JSON body: not CSV
        (api.IMPORT_STOCK, "/api/import/stock", {"movements": []}, 422),
    ]


def _body(kind: Any) -> Any:
    tag = uuid.uuid4().hex[:8]
    if kind == "new-user":
        return {"username": f"u{tag}", "password": PASSWORD, "role": "vendedor"}
    if kind == "new-category":
        return {"name": f"Categoria {tag}"}
    if kind == "new-sale":
        return {
            "items": [{"product_id": SALE_PRODUCT[0], "quantity": "1"}],
            "payment": {"method": "pix"},
        }
    if kind == "new-customer":
        return {"name": f"Cliente {tag}"}
    if kind == "new-supplier":
        return {"name": f"Fornecedor {tag}"}
    if kind == "new-product":
        return {"name": f"Produto {tag}", "unit": "un", "price_cents": 100}
    return kind


def test_the_matrix_covers_every_endpoint_that_asks_for_a_token(shop: Shop) -> None:
    guarded = {e.key for e in api.PUBLIC_ENDPOINTS if e.roles is not None}
    assert {endpoint.key for endpoint, *_ in _matrix(shop)} == guarded


@pytest.mark.parametrize("via", ["gateway", "function"])
def test_every_endpoint_answers_each_role_as_designed(shop: Shop, via: str) -> None:
    wait_for(lambda: _pix_charge_of(shop))  # pix.svg answers once the charge is known
    checked = 0
    for endpoint, path, body, ok in _matrix(shop):
        assert endpoint.roles is not None
        allowed = {role.value for role in endpoint.roles}
        base = shop.system.gateway if via == "gateway" else shop.system.url(endpoint.function)
        for who in (None, *ROLES):
            headers = {"Authorization": f"Bearer {shop.tokens[who]}"} if who else {}
            headers["Idempotency-Key"] = str(uuid.uuid4())  # POST /api/sales needs one
            answer = httpx.request(
                endpoint.method, base + path, json=_body(body), headers=headers, timeout=15
            )
            expected = 401 if who is None else ok if who in allowed else 403
            assert answer.status_code == expected, (via, endpoint.key, who, answer.text)
            if expected >= 400:
                assert answer.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked == len(_matrix(shop)) * 4


def _pix_charge_of(shop: Shop) -> bool:
    sale = httpx.get(
        f"{shop.system.gateway}/api/sales/{shop.sale_id}",
        headers={"Authorization": f"Bearer {shop.tokens['admin']}"},
        timeout=15,
    )
    return sale.status_code == 200 and sale.json()["payment"].get("pix") is not None


# -- forged and stale tokens ------------------------------------------------------------


def _signing_key(shop: Shop) -> str:
    return (shop.system.data_dir / "keys" / "signing-key.pem").read_text()


def _forge(pem: str, **overrides: Any) -> str:
    key = load_private_key(pem)
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "iss": "acougue-auth",
        "aud": "acougue",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    kid = public_jwk(key.public_key())["kid"]
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _flip(text: str, at: int) -> str:
    """Change one base64url character in the middle (the last ones carry padding bits)."""
    return text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1 :]


def test_forged_expired_and_foreign_tokens_are_refused(shop: Shop) -> None:
    real = _signing_key(shop)
    # A well-signed token must name a real user at its current security stamp (issue 14).
    admin = jwt.decode(shop.tokens["admin"], options={"verify_signature": False})
    good = _forge(real, sub=admin["sub"], ver=admin["ver"])
    head, payload, signature = shop.tokens["vendedor"].split(".")
    admin_payload = jwt.utils.base64url_encode(
        b'{"sub":"x","role":"admin","iss":"acougue-auth","aud":"acougue","exp":9999999999,'
        b'"iat":1,"jti":"j"}'
    ).decode()
    bad = {
        "tampered payload": f"{head}.{admin_payload}.{signature}",
        "tampered signature": f"{head}.{payload}.{_flip(signature, 10)}",
        "expired": _forge(real, iat=int(time.time()) - 3600, exp=int(time.time()) - 1800),
        "wrong audience": _forge(real, aud="someone-else"),
        "wrong issuer": _forge(real, iss="https://evil.example"),
        "no jti": _forge(real, jti=None),
        "unknown role": _forge(real, role="dono"),
        "unknown key": _forge(generate_private_key_pem()),
        "alg none": jwt.encode({"sub": "x", "role": "admin"}, "", algorithm="none"),
        "HS256 with the public key": jwt.encode(
            {"sub": "x", "role": "admin", "iss": "acougue-auth", "aud": "acougue"},
            "a-shared-secret-that-is-long-enough-32b",
            algorithm="HS256",
            headers={"kid": public_jwk(load_private_key(real).public_key())["kid"]},
        ),
        "garbage": "abc.def.ghi",
    }
    for base in (shop.system.gateway, shop.system.url("event-log")):
        assert (
            httpx.get(base + "/api/events", headers={"Authorization": f"Bearer {good}"}).status_code
            == 200
        )
        for name, token in bad.items():
            answer = httpx.get(base + "/api/events", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (base, name, answer.text)


# -- sessions ---------------------------------------------------------------------------


def _refresh(system: RunningSystem, cookie: str | None) -> httpx.Response:
    cookies = {"acougue_refresh": cookie} if cookie else {}
    return httpx.post(system.gateway + "/api/auth/refresh", cookies=cookies, timeout=10)


def _cookie(answer: httpx.Response) -> str:
    value = answer.cookies.get("acougue_refresh")
    assert value, answer.headers
    return str(value)


def test_refresh_rotates_and_a_reused_token_ends_the_session(shop: Shop) -> None:
    login = sign_in(shop.system, "estoquista1", PASSWORD)
    first = _cookie(login)
    rotated = _refresh(shop.system, first)
    assert rotated.status_code == 200
    second = _cookie(rotated)
    assert second != first
    assert rotated.json()["user"]["role"] == "estoquista"
    # The rotated (old) token comes back: reuse. The whole family ends, the new one too.
    assert _refresh(shop.system, first).status_code == 401
    assert _refresh(shop.system, second).status_code == 401


def test_logout_revokes_and_disabled_users_cannot_refresh(shop: Shop) -> None:
    out = _cookie(sign_in(shop.system, "estoquista1", PASSWORD))
    logout = httpx.post(shop.system.gateway + "/api/auth/logout", cookies={"acougue_refresh": out})
    assert logout.status_code == 204
    assert _refresh(shop.system, out).status_code == 401

    admin = {"Authorization": f"Bearer {shop.tokens['admin']}"}
    created = httpx.post(
        shop.system.gateway + "/api/users",
        json={"username": "temporario", "password": PASSWORD, "role": "vendedor"},
        headers=admin,
    )
    cookie = _cookie(sign_in(shop.system, "temporario", PASSWORD))
    disabled = httpx.patch(
        shop.system.gateway + f"/api/users/{created.json()['id']}",
        json={"active": False},
        headers=admin,
    )
    assert disabled.json()["active"] is False
    assert _refresh(shop.system, cookie).status_code == 401
    assert sign_in(shop.system, "temporario", PASSWORD).status_code == 401


def test_a_request_without_a_cookie_never_gets_someone_elses_session(shop: Shop) -> None:
    """The gateway forwards each browser's cookies; it must never remember them."""
    assert sign_in(shop.system, "admin", ADMIN_PASSWORD).status_code == 200
    stranger = httpx.post(shop.system.gateway + "/api/auth/refresh", timeout=10)
    assert stranger.status_code == 401
    assert "access_token" not in stranger.text


def test_session_cookie_is_httponly_strict_and_secure_behind_https(shop: Shop) -> None:
    plain = sign_in(shop.system, "vendedor1", PASSWORD).headers["set-cookie"].lower()
    assert "httponly" in plain
    assert "samesite=strict" in plain
    assert "path=/api/auth" in plain
    assert "secure" not in plain  # plain http on the shop's LAN: a Secure cookie would vanish
    https = httpx.post(
        shop.system.gateway + "/api/auth/login",
        json={"username": "vendedor1", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in https.headers["set-cookie"].lower()


# -- user management --------------------------------------------------------------------


def test_password_policy_duplicates_and_the_last_admin(shop: Shop) -> None:
    admin = {"Authorization": f"Bearer {shop.tokens['admin']}"}
    users = shop.system.gateway + "/api/users"

    def create(username: str, password: str) -> httpx.Response:
        return httpx.post(
            users,
            json={"username": username, "password": password, "role": "vendedor"},
            headers=admin,
        )

    assert create("curtinha", "1234567").status_code == 422
    assert create("mesmonome", "mesmonome").status_code == 422
    assert create("vendedor1", PASSWORD).status_code == 409
    me = httpx.get(shop.system.gateway + "/api/me", headers=admin).json()
    demote = httpx.patch(f"{users}/{me['id']}", json={"role": "vendedor"}, headers=admin)
    assert demote.status_code == 409
    assert (
        httpx.patch(f"{users}/{me['id']}", json={"active": None}, headers=admin).status_code == 422
    )


def test_user_management_is_audited_with_its_actor_and_no_secret(shop: Shop) -> None:
    admin = {"Authorization": f"Bearer {shop.tokens['admin']}"}
    me = httpx.get(shop.system.gateway + "/api/me", headers=admin).json()
    created = httpx.post(
        shop.system.gateway + "/api/users",
        json={"username": "auditado", "password": PASSWORD, "role": "estoquista"},
        headers=admin,
    ).json()
    httpx.patch(
        shop.system.gateway + f"/api/users/{created['id']}",
        json={"password": "outra-senha-456"},
        headers=admin,
    )

    def audited(type_: str) -> list[dict[str, Any]]:
        items = httpx.get(
            shop.system.gateway + "/api/events", params={"type": type_}, headers=admin
        ).json()["items"]
        return [e for e in items if e["subject"] == created["id"]]

    made = wait_for(lambda: audited("com.acougue.user.created"))[0]
    changed = wait_for(lambda: audited("com.acougue.user.updated"))[0]
    assert made["actor"] == me["id"]
    assert changed["data"]["changed"] == ["password"]
    for event in (made, changed):
        text = str(event)
        assert PASSWORD not in text
        assert "outra-senha-456" not in text
        assert "password_hash" not in text
        assert "argon2" not in text


INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    "%",
    "_",
    "\\",
    "\x00",
    "💥" * 50,
    "a" * 5000,
]


def test_injection_shaped_input_never_breaks_anything(shop: Shop) -> None:
    admin = {"Authorization": f"Bearer {shop.tokens['admin']}"}
    gw = shop.system.gateway
    for value in INJECTIONS:
        answers = [
            httpx.post(gw + "/api/auth/login", json={"username": value, "password": value}),
            httpx.post(gw + "/api/categories", json={"name": value}, headers=admin),
            httpx.post(
                gw + "/api/products",
                json={"name": value, "unit": "kg", "price_cents": 1, "barcode": value},
                headers=admin,
            ),
            httpx.post(
                gw + "/api/products",
                json={"name": value, "unit": "kg", "price_cents": 1},
                headers=admin,
            ),
            httpx.get(gw + "/api/products", params={"q": value}, headers=admin),
            httpx.get(gw + "/api/products", params={"active": value}, headers=admin),
            httpx.get(gw + "/api/events", params={"type": value, "limit": value}, headers=admin),
            httpx.post(
                gw + "/api/users",
                json={"username": value, "password": value, "role": "vendedor", "full_name": value},
                headers=admin,
            ),
            httpx.get(
                shop.system.url("catalog-query") + "/api/products",
                params={"q": value},
                headers=admin,
            ),
        ]
        for answer in answers:
            assert answer.status_code < 500, (value[:20], answer.request.url, answer.text[:200])
    # the tables are all still there and answering
    assert httpx.get(gw + "/api/users", headers=admin).status_code == 200


# -- rate limiting (last: it uses up this address's allowance) --------------------------


def test_bad_logins_are_rate_limited_per_username(shop: Shop) -> None:
    statuses = [sign_in(shop.system, "vendedor1", f"errada-{n}").status_code for n in range(30)]
    assert 429 in statuses
    first = statuses.index(429)
    assert set(statuses[:first]) == {401}
    blocked = sign_in(shop.system, "vendedor1", PASSWORD)
    assert blocked.status_code == 429  # even the right password waits out the window
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.json()["status"] == 429


def test_bad_logins_are_rate_limited_per_client_address(shop: Shop) -> None:
    auth = shop.system.url("auth") + "/api/auth/login"
    statuses = [
        httpx.post(
            auth,
            json={"username": f"ninguem{n}", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        ).status_code
        for n in range(40)
    ]
    assert statuses[:30] == [401] * 30
    assert set(statuses[30:]) == {429}


def test_unknown_and_known_users_fail_alike(shop: Shop) -> None:
    def timed(username: str) -> float:
        started = time.perf_counter()
        httpx.post(
            shop.system.url("auth") + "/api/auth/login",
            json={"username": username, "password": "senha-errada-xyz"},
            headers={"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250}"},
        )
        return time.perf_counter() - started

    known = sorted(timed("admin") for _ in range(5))[2]
    unknown = sorted(timed(f"nao-existe-{n}") for n in range(5))[2]
    # Both pay for an Argon2 verification: the medians are of the same order.
    assert unknown > known / 3

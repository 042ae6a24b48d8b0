"""Issue 14, auth attacks through the gateway as a client makes them: stale privilege,
login lockouts behind the cluster's proxies, the first admin's password, the open
redirect after login, sessions without end, weak hashes kept, and the admin's approval.

Addresses: the gateway (uvicorn) trusts X-Forwarded-For from 127.0.0.1, as it trusts
its queue-proxy in the cluster, so a test "comes from" the right-most address it sends;
"<client>, 10.244.0.30" is a client behind the cluster's proxies (pod network)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect

from shared.auth.tokens import StaticKeys
from tests.browser.support import (
    Watch,
    launched_chromium,
    new_context,
    require_chromium,
    submit_login,
)
from tests.support.api import bearer
from tests.support.fixtures import system_fixture
from tests.support.system import ADMIN_PASSWORD, RunningSystem, running_system
from tooling.demo import CATALOGUE, seed

pytestmark = pytest.mark.e2e

PASSWORD = "senha-segura-123"
PROXY = "10.244.0.30"  # an activator or Kourier pod: every client's request passes it


system = system_fixture("auth-attacks")


def _login(
    system: RunningSystem, username: str, password: str, address: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": f"{address}, {PROXY}"} if address else {}
    return httpx.post(
        system.gateway + "/api/auth/login",
        json={"username": username, "password": password},
        headers=headers,
        timeout=15,
    )


def _user(system: RunningSystem, admin: dict[str, str], role: str) -> tuple[str, str]:
    name = f"{role[:4]}{secrets.token_hex(3)}"
    created = httpx.post(
        system.gateway + "/api/users",
        json={"username": name, "password": PASSWORD, "role": role},
        headers=admin,
        timeout=15,
    )
    assert created.status_code == 201, created.text
    return name, created.json()["id"]


def _after_a_change(
    system: RunningSystem, admin: dict[str, str], role: str, path: str, change: dict[str, Any]
) -> httpx.Response:
    """A new user's token opens path; the admin changes the user (PATCH change); the answer
    at path to the same token afterwards."""
    name, user_id = _user(system, admin, role)
    headers = bearer(_login(system, name, PASSWORD).json()["access_token"])
    assert httpx.get(system.gateway + path, headers=headers, timeout=15).status_code == 200
    changed = httpx.patch(f"{system.gateway}/api/users/{user_id}", json=change, headers=admin)
    assert changed.status_code == 200, changed.text
    return httpx.get(system.gateway + path, headers=headers, timeout=15)


def _sql(system: RunningSystem, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(system.admin_dsn, autocommit=True) as conn:
        cursor = conn.execute(query, args)
        return cursor.fetchall() if cursor.description else []


# -- stale privilege ----------------------------------------------------------------------


def test_a_demoted_seller_is_refused_on_the_next_request(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    stale = _after_a_change(system, admin, "vendedor", "/api/sales", {"role": "estoquista"})
    assert stale.status_code == 401, stale.text
    assert stale.headers["content-type"].startswith("application/problem+json")


def test_a_disabled_user_is_refused_on_the_next_request(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    refused = _after_a_change(system, admin, "estoquista", "/api/products", {"active": False})
    assert refused.status_code == 401


def test_a_new_password_ends_the_tokens_signed_before(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    name, user_id = _user(system, admin, "vendedor")
    token = _login(system, name, PASSWORD).json()["access_token"]
    changed = httpx.patch(
        f"{system.gateway}/api/users/{user_id}", json={"password": "outra-senha-9"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    answer = httpx.get(system.gateway + "/api/products", headers=bearer(token), timeout=15)
    assert answer.status_code == 401


# -- login limiting -----------------------------------------------------------------------


def test_bad_logins_behind_the_shared_proxy_do_not_lock_out_the_shop(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    """Before: every client looked like the proxy, so 30 failures blocked every login."""
    name, _ = _user(system, admin, "vendedor")
    for n in range(31):
        _login(system, f"nobody{n}", "wrong-password", address="198.51.100.66")
    assert _login(system, "nobody99", "wrong", address="198.51.100.66").status_code == 429
    assert _login(system, name, PASSWORD, address="203.0.113.10").status_code == 200


def test_an_attacker_cannot_lock_a_real_user_out(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    """Before: 10 failures for a username refused it everywhere, right password or not."""
    name, _ = _user(system, admin, "vendedor")
    statuses = [
        _login(system, name, "guess-" + str(n), address="198.51.100.9").status_code
        for n in range(14)
    ]
    assert statuses[:10] == [401] * 10
    assert 429 in statuses[10:]  # the attacker is slowed down...
    throttled = _login(system, name, "another-guess", address="198.51.100.9")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    # ...and the real user, from the shop's counter, is not.
    assert _login(system, name, PASSWORD, address="203.0.113.20").status_code == 200


def test_the_admin_is_not_locked_out_by_guessing_its_password(system: RunningSystem) -> None:
    for n in range(12):
        _login(system, "admin", f"guess-{n}", address="198.51.100.77")
    assert _login(system, "admin", ADMIN_PASSWORD, address="203.0.113.30").status_code == 200


# -- the first admin's password -----------------------------------------------------------


def test_the_first_admin_must_change_the_password_before_anything_else(
    admin_database_url: str, tmp_path: Path
) -> None:
    first = "primeira-" + secrets.token_urlsafe(8)
    with running_system(
        admin_database_url, tmp_path, amqp_url=None, extra_env={"ACOUGUE_ADMIN_PASSWORD": first}
    ) as fresh:
        login = _login(fresh, "admin", first)
        assert login.status_code == 200, login.text
        assert login.json()["password_change_required"] is True
        token = login.json()["access_token"]
        for url in (
            fresh.gateway + "/api/products",
            fresh.gateway + "/api/users",
            fresh.url("catalog-query") + "/api/products",  # straight at a function
        ):
            refused = httpx.get(url, headers=bearer(token), timeout=15)
            assert refused.status_code == 403, (url, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "password change required" in refused.json()["detail"].lower()
        changed = httpx.post(
            fresh.gateway + "/api/auth/password",
            json={"current_password": first, "new_password": "nova-senha-da-loja"},
            headers=bearer(token),
            timeout=15,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["password_change_required"] is False
        new_token = changed.json()["access_token"]
        ok = httpx.get(fresh.gateway + "/api/users", headers=bearer(new_token), timeout=15)
        assert ok.status_code == 200
        assert _login(fresh, "admin", first).status_code == 401
        assert (
            _login(fresh, "admin", "nova-senha-da-loja").json()["password_change_required"] is False
        )
        runner_log = (tmp_path / "runner.log").read_text()
        assert first not in runner_log


def test_the_demo_seed_makes_the_first_login_change_and_returns_the_new_password(
    admin_database_url: str, tmp_path: Path
) -> None:
    """`ACOUGUE_DEMO=1` logs in as the bootstrap admin: it must make the forced change
    (and tell the owner the new password) before it can seed anything."""
    first = "primeira-" + secrets.token_urlsafe(8)
    with running_system(
        admin_database_url, tmp_path, amqp_url=None, extra_env={"ACOUGUE_ADMIN_PASSWORD": first}
    ) as fresh:
        changed = asyncio.run(seed(fresh.gateway, first))
        assert changed is not None
        assert _login(fresh, "admin", first).status_code == 401
        session = _login(fresh, "admin", changed).json()
        assert session["password_change_required"] is False
        products = httpx.get(
            fresh.gateway + "/api/products", headers=bearer(session["access_token"]), timeout=15
        ).json()["items"]
        assert {p["name"] for p in products} >= {item.name for item in CATALOGUE}
        assert asyncio.run(seed(fresh.gateway, changed)) is None  # a second run changes nothing


# -- the open redirect after login ----------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium(require_chromium()) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    watch = Watch()
    context = new_context(browser, watch)
    yield context.new_page(), watch
    context.close()


@pytest.mark.parametrize(
    "next_",
    ["%2F%09%2Fevil.example", "%2F%0A%2Fevil.example", "%2F%5Cevil.example", "//evil.example"],
)
def test_login_never_leaves_the_site(
    system: RunningSystem, admin: dict[str, str], page: tuple[Page, Watch], next_: str
) -> None:
    tab, watch = page
    name, _ = _user(system, admin, "vendedor")
    submit_login(tab, system.gateway, name, PASSWORD, next_)
    tab.wait_for_load_state("load")
    expect(tab.locator("body")).to_have_attribute("data-ready", "true")
    assert tab.url.startswith(system.gateway + "/"), tab.url
    assert not any("evil.example" in url for url in watch.external), watch.external


def test_login_still_follows_a_path_of_this_site(
    system: RunningSystem, admin: dict[str, str], page: tuple[Page, Watch]
) -> None:
    tab, _ = page
    name, _ = _user(system, admin, "vendedor")
    submit_login(tab, system.gateway, name, PASSWORD, "%2Fvendas")
    expect(tab).to_have_url(system.gateway + "/vendas")


# -- sessions and hashes ---------------------------------------------------------------------


def test_a_session_ends_at_its_absolute_lifetime(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    name, user_id = _user(system, admin, "vendedor")
    login = _login(system, name, PASSWORD)
    cookie = login.cookies["acougue_refresh"]
    # The login's absolute end passes (the refresh token itself would still be valid).
    _sql(
        system,
        "UPDATE auth.refresh_tokens SET session_expires_at = now() - interval '1 second'"
        " WHERE user_id = %s",
        uuid.UUID(user_id),
    )
    refreshed = httpx.post(
        system.gateway + "/api/auth/refresh", cookies={"acougue_refresh": cookie}, timeout=15
    )
    assert refreshed.status_code == 401


def test_expired_sessions_are_purged_at_login(system: RunningSystem, admin: dict[str, str]) -> None:
    name, user_id = _user(system, admin, "vendedor")
    _login(system, name, PASSWORD)
    _sql(
        system,
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 day' WHERE user_id = %s",
        uuid.UUID(user_id),
    )
    _login(system, name, PASSWORD)
    left = _sql(
        system,
        "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = %s AND expires_at < now()",
        uuid.UUID(user_id),
    )
    assert left == [(0,)]


def test_a_weak_hash_is_upgraded_at_login(system: RunningSystem, admin: dict[str, str]) -> None:
    name, user_id = _user(system, admin, "vendedor")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    _sql(system, "UPDATE auth.users SET password_hash = %s WHERE id = %s", weak, uuid.UUID(user_id))
    assert _login(system, name, PASSWORD).status_code == 200
    ((stored,),) = _sql(
        system, "SELECT password_hash FROM auth.users WHERE id = %s", uuid.UUID(user_id)
    )
    assert stored != weak
    assert "m=8192" not in stored


# -- the admin's approval at the counter -----------------------------------------------------


def test_an_admin_approves_a_sellers_discount_with_a_short_token(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    seller, _ = _user(system, admin, "vendedor")
    stocker, _ = _user(system, admin, "estoquista")
    seller_token = _login(system, seller, PASSWORD).json()["access_token"]
    url = system.gateway + "/api/auth/approvals"
    body = {"username": "admin", "password": ADMIN_PASSWORD, "purpose": "discount"}
    approved = httpx.post(url, json=body, headers=bearer(seller_token), timeout=15)
    assert approved.status_code == 200, approved.text
    assert approved.json()["expires_in"] == 120
    token = approved.json()["approval_token"]
    from shared.auth.approvals import verify_approval  # new in issue 14

    jwks = httpx.get(system.url("auth") + "/.well-known/jwks.json", timeout=15).json()
    claims = jwt.decode(token, options={"verify_signature": False})
    principal = asyncio_run(
        verify_approval(StaticKeys(jwks), token, "discount", issuer=claims["iss"])
    )
    assert principal.username == "admin"
    assert claims["aud"] == "acougue-approval"
    assert claims["exp"] - claims["iat"] == 120
    # The approval is not a session.
    assert httpx.get(system.gateway + "/api/sales", headers=bearer(token)).status_code == 401
    # A seller's own password approves nothing; nor does an anonymous or stock caller ask.
    own = {"username": seller, "password": PASSWORD, "purpose": "discount"}
    assert httpx.post(url, json=own, headers=bearer(seller_token)).status_code == 401
    assert httpx.post(url, json=body).status_code == 401
    stock_token = _login(system, stocker, PASSWORD).json()["access_token"]
    assert httpx.post(url, json=body, headers=bearer(stock_token)).status_code == 403
    wrong = {**body, "password": "not-the-admins"}
    assert httpx.post(url, json=wrong, headers=bearer(seller_token)).status_code == 401


def asyncio_run(coroutine: Any) -> Any:
    """Playwright's sync API keeps an event loop in this thread: run in another one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

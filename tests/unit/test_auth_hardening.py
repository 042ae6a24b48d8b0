"""Issue 14, the auth library without I/O: client address behind proxies, the login
throttle, token security stamps, the JWKS cache's expiry, approvals, Argon2 off the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from functions.auth import domain
from shared.auth import passwords
from shared.auth.approvals import (
    APPROVAL_AUDIENCE,
    APPROVAL_TTL_SECONDS,
    approval_claims,
    check_approval,
    verify_approval,
)
from shared.auth.guard import authorize
from shared.auth.principal import ALL_ROLES, Principal, Role
from shared.auth.tokens import (
    InvalidToken,
    RemoteJwks,
    StaticKeys,
    TokenIssuer,
    TokenVerifier,
    generate_private_key_pem,
    load_private_key,
)
from shared.errors import Problem

ISSUER, AUDIENCE = "acougue-auth", "acougue"
POD_NETWORK = ("10.244.0.0/16",)


def _issuer() -> TokenIssuer:
    key = load_private_key(generate_private_key_pem())
    return TokenIssuer(key, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900)


# -- the client's address ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        # Kourier wrote C; activators, queue-proxies and the gateway appended pod addresses.
        ("203.0.113.7, 10.244.0.12, 10.244.0.30, 10.244.0.30, 10.244.0.51", "203.0.113.7"),
        ("203.0.113.7, 10.244.0.30, 10.244.0.30, 10.244.0.51", "203.0.113.7"),
        # Whatever the client itself sent stays left of C and is never read.
        ("198.51.100.1, 203.0.113.7, 10.244.0.30, 10.244.0.51", "203.0.113.7"),
        ("10.244.9.9, 203.0.113.7, 10.244.0.30", "203.0.113.7"),
        # Locally: the gateway appended the browser's address, nothing else.
        ("192.168.0.23", "192.168.0.23"),
        ("1.2.3.4, 192.168.0.23", "192.168.0.23"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_the_client_is_the_first_address_outside_our_proxies(forwarded: str, expected: str) -> None:
    found = domain.client_address(
        forwarded, "10.244.0.99", trusted_hops=1, trusted_networks=POD_NETWORK
    )
    assert found == expected


def test_the_shared_proxy_is_not_taken_for_the_client() -> None:
    """Before issue 14 the right-most entry (a proxy shared by every client) was read."""
    a = domain.client_address(
        "203.0.113.7, 10.244.0.30", None, trusted_hops=1, trusted_networks=POD_NETWORK
    )
    b = domain.client_address(
        "203.0.113.8, 10.244.0.30", None, trusted_hops=1, trusted_networks=POD_NETWORK
    )
    assert a != b


def test_hops_count_from_the_right_and_zero_means_the_peer() -> None:
    assert domain.client_address("a, b, c", "peer", trusted_hops=0, trusted_networks=()) == "peer"
    assert domain.client_address("a, b, c", "peer", trusted_hops=2, trusted_networks=()) == "b"
    assert domain.client_address("a", "peer", trusted_hops=3, trusted_networks=()) == "a"
    assert domain.client_address("", "peer", trusted_hops=1, trusted_networks=()) == "peer"


@pytest.mark.parametrize(
    ("forwarded", "networks", "expected"),
    [
        # a bracketed IPv6 proxy is still a proxy
        ("2001:db8::7, [fd00::30]", ("fd00::/8",), "2001:db8::7"),
        # a network written with host bits is read as the operator means it, not refused
        ("203.0.113.7, 10.244.0.30, 10.244.0.51", ("10.244.0.1/16",), "203.0.113.7"),
        # every hop a proxy: the left-most entry is the client
        ("10.244.0.12, 10.244.0.30, 10.244.0.51", POD_NETWORK, "10.244.0.12"),
        # an entry that is no address stops the walk; only brackets are stripped to read one
        ("203.0.113.7, proxy.local, 10.244.0.51", POD_NETWORK, "proxy.local"),
        ("203.0.113.7, X10.244.0.30X, 10.244.0.51", POD_NETWORK, "X10.244.0.30X"),
    ],
)
def test_the_walk_past_trusted_networks(
    forwarded: str, networks: tuple[str, ...], expected: str
) -> None:
    found = domain.client_address(forwarded, None, trusted_hops=1, trusted_networks=networks)
    assert found == expected


def test_the_address_is_cut_to_64_characters() -> None:
    long = "x" * 100
    assert domain.client_address(long, None, trusted_hops=1, trusted_networks=()) == "x" * 64
    assert domain.client_address("", long, trusted_hops=1, trusted_networks=()) == "x" * 64
    assert domain.client_address("a", long, trusted_hops=0, trusted_networks=()) == "x" * 64


def test_no_peer_and_no_forwarded_entry_is_unknown() -> None:
    assert domain.client_address(" , ", None, trusted_hops=1, trusted_networks=()) == "unknown"
    assert domain.client_address("a", None, trusted_hops=0, trusted_networks=()) == "unknown"


# -- the login throttle -------------------------------------------------------------------

LIMIT = domain.LoginLimit(per_username=5, per_address=30, window=timedelta(minutes=15))
NOW = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def test_the_delay_doubles_per_failure_and_is_capped() -> None:
    delays = [domain.pair_delay(LIMIT, n).total_seconds() for n in range(4, 20)]
    assert delays[:5] == [0, 1, 2, 4, 8]
    assert max(delays) == 900
    assert delays == sorted(delays)


def test_a_pair_waits_only_after_its_last_failure() -> None:
    recent = domain.FailureCounts(pair=8, address=8, last_pair=NOW, oldest_address=NOW)
    assert domain.retry_after(LIMIT, recent, NOW) == 8
    later = domain.retry_after(LIMIT, recent, NOW + timedelta(seconds=9))
    assert later is None


def test_another_address_is_never_slowed_by_an_attackers_failures() -> None:
    # The attacker's 29 failures for "admin" from their address weigh nothing elsewhere.
    elsewhere = domain.FailureCounts(pair=0, address=0, last_pair=None, oldest_address=None)
    assert domain.retry_after(LIMIT, elsewhere, NOW) is None


def test_the_delay_starts_at_one_second_at_the_limit() -> None:
    assert domain.pair_delay(LIMIT, 4) == timedelta(0)
    assert domain.pair_delay(LIMIT, 5) == timedelta(seconds=1)
    assert domain.pair_delay(LIMIT, 6) == timedelta(seconds=2)
    assert domain.pair_delay(LIMIT, 14) == timedelta(seconds=512)
    assert domain.pair_delay(LIMIT, 15) == timedelta(minutes=15)  # 1024 s, capped
    assert LIMIT.max_delay == timedelta(minutes=15)  # the documented default


def test_the_exponent_stops_at_thirty() -> None:
    """So that a flood of failures cannot make 2**n absurdly large; 2**30 s is the most."""
    endless = domain.LoginLimit(
        per_username=5, per_address=30, window=timedelta(minutes=15), max_delay=timedelta.max
    )
    assert domain.pair_delay(endless, 35) == timedelta(seconds=2**30)
    assert domain.pair_delay(endless, 36) == timedelta(seconds=2**30)
    assert domain.pair_delay(endless, 34) == timedelta(seconds=2**29)


def test_a_pair_is_free_exactly_when_its_delay_ends() -> None:
    counts = domain.FailureCounts(pair=7, address=7, last_pair=NOW, oldest_address=NOW)  # 4 s
    assert domain.retry_after(LIMIT, counts, NOW + timedelta(seconds=4)) is None
    assert domain.retry_after(LIMIT, counts, NOW + timedelta(seconds=3)) == 1
    # part of a second left still means "wait one second", never zero
    assert domain.retry_after(LIMIT, counts, NOW + timedelta(seconds=3.9)) == 1
    assert domain.retry_after(LIMIT, counts, NOW + timedelta(seconds=2.5)) == 2


def test_a_pair_at_exactly_the_limit_waits_one_second() -> None:
    counts = domain.FailureCounts(pair=5, address=5, last_pair=NOW, oldest_address=NOW)
    assert domain.retry_after(LIMIT, counts, NOW) == 1
    below = domain.FailureCounts(pair=4, address=4, last_pair=NOW, oldest_address=NOW)
    assert domain.retry_after(LIMIT, below, NOW) is None


def test_an_address_at_exactly_its_limit_waits_for_the_window() -> None:
    oldest = NOW - timedelta(minutes=10)
    at_limit = domain.FailureCounts(pair=0, address=30, last_pair=None, oldest_address=oldest)
    assert domain.retry_after(LIMIT, at_limit, NOW) == 300
    below = domain.FailureCounts(pair=0, address=29, last_pair=None, oldest_address=oldest)
    assert domain.retry_after(LIMIT, below, NOW) is None
    assert domain.retry_after(LIMIT, at_limit, oldest + timedelta(minutes=15)) is None


def test_the_longer_of_the_two_waits_wins() -> None:
    counts = domain.FailureCounts(
        pair=6, address=30, last_pair=NOW, oldest_address=NOW - timedelta(seconds=890)
    )
    assert domain.retry_after(LIMIT, counts, NOW) == 10  # the window's 10 s beat the pair's 2 s
    counts = domain.FailureCounts(
        pair=9, address=30, last_pair=NOW, oldest_address=NOW - timedelta(seconds=890)
    )
    assert domain.retry_after(LIMIT, counts, NOW) == 16


def test_counts_without_a_time_never_block() -> None:
    counts = domain.FailureCounts(pair=50, address=50, last_pair=None, oldest_address=None)
    assert domain.retry_after(LIMIT, counts, NOW) is None


# -- tokens: security stamp and forced password change ---------------------------------


async def test_a_token_carries_the_users_stamp_and_the_change_flag() -> None:
    issuer = _issuer()
    verifier = TokenVerifier(StaticKeys(issuer.jwks()), issuer=ISSUER, audience=AUDIENCE)
    plain = await verifier.verify(issuer.issue(Principal("u1", "ana", Role.VENDEDOR, 7)).token)
    assert (plain.version, plain.password_change_required) == (7, False)
    first = issuer.issue(Principal("u2", "admin", Role.ADMIN, 1, password_change_required=True))
    principal = await verifier.verify(first.token)
    assert principal.password_change_required
    with pytest.raises(Problem) as refused:
        authorize(principal, ALL_ROLES)
    assert refused.value.status == 403
    assert "password change required" in refused.value.detail.lower()


# -- the JWKS cache ---------------------------------------------------------------------


class _Jwks:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks, self.calls = jwks, 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(200, json=self.jwks)


async def test_a_key_removed_from_the_jwks_stops_being_trusted_after_max_age() -> None:
    issuer = _issuer()
    served = _Jwks(issuer.jwks())
    now = [1000.0]
    keys = RemoteJwks(
        "http://auth/.well-known/jwks.json",
        client=httpx.AsyncClient(transport=httpx.MockTransport(served.handler)),
        max_age_seconds=60,
        clock=lambda: now[0],
    )
    assert await keys.key(issuer.kid) is not None
    served.jwks = {"keys": []}  # the key was retired and removed
    now[0] += 30
    assert await keys.key(issuer.kid) is not None  # cached, within max age
    assert served.calls == 1
    now[0] += 31
    assert await keys.key(issuer.kid) is None
    assert served.calls == 2


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    issuer = _issuer()
    served = _Jwks(issuer.jwks())
    keys = RemoteJwks(
        "http://auth/.well-known/jwks.json",
        client=httpx.AsyncClient(transport=httpx.MockTransport(served.handler)),
    )
    for n in range(20):
        await keys.key(f"forged-{n}")
    assert served.calls == 1


def test_remote_jwks_keeps_its_constructor() -> None:
    RemoteJwks("http://auth/jwks", min_refresh_seconds=10.0, client=None)


# -- approvals --------------------------------------------------------------------------


async def test_an_admins_approval_verifies_for_its_purpose_only() -> None:
    issuer = _issuer()
    keys = StaticKeys(issuer.jwks())
    admin = Principal("a1", "dona", Role.ADMIN)
    token = issuer.sign(approval_claims(admin, "discount", issuer=ISSUER))
    approved = await verify_approval(keys, token, "discount", issuer=ISSUER)
    assert approved == Principal("a1", "dona", Role.ADMIN)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == APPROVAL_AUDIENCE
    assert claims["exp"] - claims["iat"] == APPROVAL_TTL_SECONDS
    with pytest.raises(InvalidToken):
        await verify_approval(keys, token, "refund", issuer=ISSUER)
    with pytest.raises(InvalidToken):
        await verify_approval(keys, token, "discount", issuer="someone-else")


async def test_an_approval_is_no_session_and_a_session_no_approval() -> None:
    issuer = _issuer()
    keys = StaticKeys(issuer.jwks())
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    admin = Principal("a1", "dona", Role.ADMIN)
    approval = issuer.sign(approval_claims(admin, "discount", issuer=ISSUER))
    with pytest.raises(InvalidToken):
        await verifier.verify(approval)
    with pytest.raises(InvalidToken):
        await verify_approval(keys, issuer.issue(admin).token, "discount", issuer=ISSUER)


async def test_expired_foreign_or_non_admin_approvals_are_refused() -> None:
    issuer, other = _issuer(), _issuer()
    keys = StaticKeys(issuer.jwks())
    seller = Principal("v1", "joao", Role.VENDEDOR)
    old = approval_claims(Principal("a1", "dona", Role.ADMIN), "discount", issuer=ISSUER)
    old.update(iat=int(time.time()) - 600, exp=int(time.time()) - 480)
    for token in (
        issuer.sign(approval_claims(seller, "discount", issuer=ISSUER)),
        issuer.sign(old),
        other.sign(approval_claims(Principal("a1", "dona", Role.ADMIN), "discount", issuer=ISSUER)),
    ):
        with pytest.raises(InvalidToken):
            await check_approval(keys, token, "discount", issuer=ISSUER)


# -- Argon2 off the event loop ----------------------------------------------------------


async def test_argon2_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = passwords.hash_password

    def spy(password: str) -> str:
        seen.append(threading.get_ident())
        return original(password)

    monkeypatch.setattr(passwords, "hash_password", spy)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    hashed = await passwords.hash_password_async("senha-segura-123")
    task.cancel()
    assert seen
    assert seen[0] != loop_thread
    assert ticks > 1  # the loop kept serving while Argon2 worked
    assert await passwords.verify_password_async(hashed, "senha-segura-123")
    assert not await passwords.verify_password_async(hashed, "outra")

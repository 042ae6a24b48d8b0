"""Tokens, key rotation, password policy and the login limit, without I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.auth import domain
from shared.auth.passwords import hash_password, verify_password
from shared.auth.principal import Principal, Role
from shared.auth.tokens import (
    InvalidToken,
    StaticKeys,
    TokenIssuer,
    TokenVerifier,
    generate_private_key_pem,
    load_private_key,
)

ALICE = Principal("3f1c3a56-0000-4000-8000-000000000001", "alice", Role.VENDEDOR)


def _issuer(pem: str, retired: list[dict[str, object]] | None = None) -> TokenIssuer:
    return TokenIssuer(
        load_private_key(pem),
        issuer="acougue-auth",
        audience="acougue",
        ttl_seconds=900,
        retired_jwks=retired,
    )


async def test_a_token_carries_identity_role_and_lifetime() -> None:
    issuer = _issuer(generate_private_key_pem())
    token = issuer.issue(ALICE)
    verifier = TokenVerifier(StaticKeys(issuer.jwks()), issuer="acougue-auth", audience="acougue")
    assert await verifier.verify(token.token) == ALICE
    assert token.expires_in == 900


async def test_tokens_of_a_retired_key_stay_valid_after_rotation() -> None:
    old = _issuer(generate_private_key_pem())
    before = old.issue(ALICE).token
    new = _issuer(generate_private_key_pem(), retired=old.jwks()["keys"])
    after = new.issue(ALICE).token
    verifier = TokenVerifier(StaticKeys(new.jwks()), issuer="acougue-auth", audience="acougue")
    assert await verifier.verify(before) == ALICE
    assert await verifier.verify(after) == ALICE
    assert [k["kid"] for k in new.jwks()["keys"]] == [new.kid, old.kid]
    # Once the old key is dropped from the JWKS, its tokens are refused.
    alone = TokenVerifier(
        StaticKeys(_issuer_jwks_without(new, old.kid)), issuer="acougue-auth", audience="acougue"
    )
    with pytest.raises(InvalidToken, match="unknown key"):
        await alone.verify(before)


def _issuer_jwks_without(issuer: TokenIssuer, kid: str) -> dict[str, object]:
    return {"keys": [k for k in issuer.jwks()["keys"] if k["kid"] != kid]}


def test_kid_is_stable_for_a_key() -> None:
    pem = generate_private_key_pem()
    assert _issuer(pem).kid == _issuer(pem).kid


def test_passwords_are_argon2id_and_verify_only_themselves() -> None:
    hashed = hash_password("picanha-na-brasa")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "picanha-na-brasa")
    assert not verify_password(hashed, "picanha-na-brasa ")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("maria", "1234567", "password: at least 8 characters"),
        ("maria", "", "password: at least 8 characters"),
        ("maria", "maria", "password: at least 8 characters"),
        ("joaozinho", "joaozinho", "password: must not be the username"),
        ("joaozinho", " JoaoZinho ", "password: must not be the username"),
        (" JOAOZINHO ", "joaozinho", "password: must not be the username"),
    ],
)
def test_password_policy_refuses(username: str, password: str, message: str) -> None:
    """The message reaches the user as the problem's detail."""
    with pytest.raises(domain.PolicyError, match=f"^{message}$"):
        domain.check_password(username, password)


@pytest.mark.parametrize("password", ["12345678", "maria123", "joaozinho2"])
def test_password_policy_accepts_eight_characters_and_more(password: str) -> None:
    domain.check_password("joaozinho", password)  # raises PolicyError when refused


@pytest.mark.parametrize("username", ["ab", "José", "with space", "x" * 41, "a;drop", "", "ab\n"])
def test_username_policy_refuses(username: str) -> None:
    with pytest.raises(
        domain.PolicyError,
        match=r"^username: 3 to 40 characters, letters, digits, dot, dash or underscore$",
    ):
        domain.check_username(username)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("abc", "abc"),
        ("x" * 40, "x" * 40),
        ("  Maria.Silva ", "maria.silva"),
        ("JOAO_2-b", "joao_2-b"),
        ("a.b", "a.b"),
    ],
)
def test_username_policy_keeps_the_normalized_name(typed: str, kept: str) -> None:
    assert domain.check_username(typed) == kept


def test_refresh_tokens_are_random_and_only_their_hash_is_kept() -> None:
    token, digest = domain.new_refresh_token()
    other, _ = domain.new_refresh_token()
    assert token != other
    assert len(token) == 43  # 32 random bytes, URL-safe base64 without padding
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert digest == domain.hash_refresh_token(token)
    assert token not in digest


def test_a_refresh_token_is_kept_as_its_sha256_hex_digest() -> None:
    assert domain.hash_refresh_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


LIMIT = domain.LoginLimit(per_username=10, per_address=30, window=timedelta(minutes=15))
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@given(st.integers(0, 40), st.integers(0, 60), st.integers(0, 899))
def test_retry_after_blocks_exactly_at_the_limits(pair: int, address: int, age: int) -> None:
    """Issue 14: one username from one address waits 2**(n - limit) s after its last
    failure (capped); one address waits until its oldest failure leaves the window."""
    at = NOW - timedelta(seconds=age)
    counts = domain.FailureCounts(pair, address, at if pair else None, at if address else None)
    wait = domain.retry_after(LIMIT, counts, NOW)
    pair_wait = (
        min(900, 2 ** min(pair - LIMIT.per_username, 30)) - age if pair >= LIMIT.per_username else 0
    )
    address_wait = 900 - age if address >= LIMIT.per_address else 0
    expected = max(pair_wait, address_wait)
    assert wait == (max(1, expected) if expected > 0 else None)

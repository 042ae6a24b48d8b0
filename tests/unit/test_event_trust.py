"""Who may publish what, and the tokens that prove it: the rules without the transport."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from shared.auth.tokens import StaticKeys, generate_private_key_pem, load_private_key
from shared.events import identity, ownership
from shared.events.registry import registered_types
from tooling.manifests import load_topology


def test_every_event_type_is_owned_by_functions_that_exist() -> None:
    functions = {n for n, s in load_topology().services.items() if s.function_target}
    table = ownership.table()
    assert set(table) == set(registered_types())
    for type_, owners in table.items():
        assert owners, type_
        assert owners <= functions, (type_, owners - functions)
    assert functions >= ownership.FORWARDERS


def test_only_owners_and_forwarders_may_publish_and_only_under_an_owners_source() -> None:
    approved = "com.acougue.payment.approved"
    payments = ownership.source_of("process-payment")
    assert ownership.refusal("process-payment", approved, payments) is None
    assert ownership.refusal("outbox-relay", approved, payments) is None
    assert ownership.refusal("dead-letter", approved, payments) is None
    assert ownership.refusal("complete-sale", approved, payments) is not None
    assert ownership.refusal("complete-sale", approved, "/acougue/complete-sale") is not None
    assert ownership.refusal("outbox-relay", approved, "/acougue/outbox-relay") is not None
    assert ownership.refusal("process-payment", "com.acougue.nothing", payments) is not None
    assert ownership.source_refusal(approved, "/tests") is not None


def _signer(**kwargs: int) -> identity.TokenSigner:
    return identity.TokenSigner(
        load_private_key(generate_private_key_pem()), issuer="acougue-broker", **kwargs
    )


def _verify(verifier: identity.TokenVerifier, token: str) -> identity.Verified:
    return asyncio.run(verifier.verify(token))


def test_a_token_is_checked_for_audience_issuer_key_expiry_and_algorithm() -> None:
    signer = _signer()
    keys = StaticKeys(signer.jwks())
    audience = identity.service_audience("ns", "update-sale-status")
    verifier = identity.TokenVerifier(keys, audience=audience, issuer="acougue-broker")
    good = signer.token(audience, "system:serviceaccount:ns:t")
    assert _verify(verifier, good).subject == "system:serviceaccount:ns:t"
    refused = [
        signer.token(identity.service_audience("ns", "event-log"), "s"),  # another audience
        identity.TokenSigner(signer._key, issuer="someone").token(audience, "s"),  # issuer
        _signer().token(audience, "s"),  # a key the verifier does not know
        identity.TokenSigner(signer._key, issuer="acougue-broker", lifetime=-60).token(
            audience, "s"
        ),  # expired
        jwt.encode({"aud": audience, "iss": "acougue-broker", "sub": "s"}, "", algorithm="none"),
        "not a token",
    ]
    for token in refused:
        with pytest.raises(identity.Unauthenticated):
            _verify(verifier, token)


def test_a_verified_token_is_remembered_until_it_expires_and_the_memory_is_bounded() -> None:
    signer = _signer(lifetime=2)
    audience = "a"
    verifier = identity.TokenVerifier(
        StaticKeys(signer.jwks()), audience=audience, issuer="acougue-broker", remember=3
    )
    tokens = [signer.token(audience, f"s{n}") for n in range(5)]
    for token in tokens:
        _verify(verifier, token)
    assert len(verifier._seen) == 3
    time.sleep(2 + identity.LEEWAY + 0.1)
    with pytest.raises(identity.Unauthenticated, match="expired"):
        _verify(verifier, tokens[-1])


def test_tokens_are_reused_until_five_minutes_before_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed: list[str] = []
    encode = jwt.encode

    def counting(*args: object, **kwargs: object) -> str:
        signed.append("x")
        return encode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("shared.events.identity.jwt.encode", counting)
    hour = _signer()
    hour.token("a", "s")
    hour.token("a", "s")
    assert len(signed) == 1
    hour.token("b", "s")  # another audience: its own token
    assert len(signed) == 2
    nearly_stale = _signer(lifetime=identity.REFRESH_BEFORE_EXPIRY)
    nearly_stale.token("a", "s")
    nearly_stale.token("a", "s")
    assert len(signed) == 4

"""What authenticating events costs per delivery and per publish, against parsing the event.

    python -m bench.event_trust [--rounds 20000]

Baseline: what every subscriber already did per delivery (parse the binary-mode CloudEvent
and validate its payload). Measured: the broker signing a delivery token (cached per
audience), a subscriber checking it (first sight: Ed25519 verification; then: the cache of
verified tokens), the ownership check, and a function's publish token (cached). All in one
process, one core, so the ratios are comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from bench.function_start import cloud_event
from shared.auth.tokens import StaticKeys, generate_private_key_pem, load_private_key
from shared.events import identity, ownership
from shared.events.identity import PublishToken, TokenSigner, TokenVerifier
from shared.events.registry import payload_model
from shared.subscriber import parse_cloud_event

AUDIENCE = identity.service_audience("acougue-system", "update-sale-status")
SUBJECT = identity.service_account("acougue-system", "t-oidc-eventing.knative.dev-trigger")
TYPE = "com.acougue.payment.approved"
HEADERS, BODY = cloud_event(
    TYPE,
    b'{"payment_id":"5d1c4e5e-8d3e-4b51-9c43-2b8e0d9a1f00","sale_id":"'
    b'8a2f8f7e-3a51-4f0e-9a5e-0c3c4f0e8b11","attempt":1,"method":"debit",'
    b'"amount_cents":4590,"fee_cents":89}',
    source="/acougue/process-payment",
    time="2026-12-06T12:00:00Z",
)


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds
    signer = TokenSigner(load_private_key(generate_private_key_pem()), issuer="acougue-broker")
    keys = StaticKeys(signer.jwks())
    loop = asyncio.new_event_loop()
    model = payload_model(TYPE)
    assert model is not None

    def baseline() -> None:
        event = parse_cloud_event(HEADERS, BODY)
        model.model_validate(event.data)

    def fresh_verify() -> None:
        verifier = TokenVerifier(keys, audience=AUDIENCE, issuer="acougue-broker")
        loop.run_until_complete(verifier.verify(token))

    token = signer.token(AUDIENCE, SUBJECT)
    warm = TokenVerifier(keys, audience=AUDIENCE, issuer="acougue-broker")
    publish = PublishToken(
        load_private_key(generate_private_key_pem()),
        subject=identity.service_account("acougue-system", "process-payment"),
        audience=identity.broker_audience("acougue-system", "default"),
    )
    uncached = TokenSigner(load_private_key(generate_private_key_pem()), issuer="x", lifetime=0)
    rows = [
        ("baseline: parse + validate one event", per_call_us(baseline, rounds)),
        (
            "broker: delivery token (cached)",
            per_call_us(lambda: signer.token(AUDIENCE, SUBJECT), rounds),
        ),
        (
            "broker: delivery token (signing)",
            per_call_us(lambda: uncached.token(AUDIENCE, SUBJECT), rounds // 10),
        ),
        ("subscriber: verify, first sight", per_call_us(fresh_verify, rounds // 10)),
        (
            "subscriber: verify, seen before",
            per_call_us(lambda: loop.run_until_complete(warm.verify(token)), rounds),
        ),
        (
            "subscriber: source owns type",
            per_call_us(lambda: ownership.source_refusal(TYPE, "/acougue/process-payment"), rounds),
        ),
        ("publisher: publish token (cached)", per_call_us(publish, rounds)),
    ]
    base = rows[0][1]
    print(f"{'step':42} {'µs/call':>9} {'× baseline':>11}")
    for name, micros in rows:
        print(f"{name:42} {micros:9.1f} {micros / base:11.2f}")


if __name__ == "__main__":
    main()

"""Speaking for a function or for the broker in tests, with the keys the runner made.

An e2e test that publishes an event plays a function from inside the system (it reads that
function's identity key, as an insider who can read a pod's token could); one that posts
straight to a function plays the broker (its delivery key).
"""

from __future__ import annotations

from pathlib import Path

from shared.auth.tokens import load_private_key
from shared.events.identity import (
    PublishToken,
    TokenSigner,
    broker_audience,
    service_account,
    service_audience,
)

NAMESPACE = "acougue-system"
BROKER = "default"
BROKER_ISSUER = "acougue-broker"


def _key(data_dir: Path, name: str) -> Path:
    return data_dir / "identities" / f"{name}.pem"


def publish_headers(data_dir: Path, function: str) -> dict[str, str]:
    """`Authorization` for the broker's ingress, as `function`."""
    token = PublishToken(
        load_private_key(_key(data_dir, function).read_text()),
        subject=service_account(NAMESPACE, function),
        audience=broker_audience(NAMESPACE, BROKER),
    )()
    return {"authorization": f"Bearer {token}"}


def delivery_headers(data_dir: Path, function: str) -> dict[str, str]:
    """`Authorization` for a delivery to `function`, as the broker."""
    signer = TokenSigner(
        load_private_key(_key(data_dir, "broker").read_text()), issuer=BROKER_ISSUER
    )
    token = signer.token(
        service_audience(NAMESPACE, function), service_account(NAMESPACE, "tests-oidc-trigger")
    )
    return {"authorization": f"Bearer {token}"}

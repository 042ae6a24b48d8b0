"""Event tokens: which function publishes to the broker, and that a delivery is the broker's.

Modelled on Knative Eventing's `authentication-oidc` (knative.dev/eventing at v1.22, as
vendored by eventing-rabbitmq knative-v1.22.1): a token is a short EdDSA JWT whose `aud`
names the receiver as `<group>/<kind>/<namespace>/<name>` (pkg/auth/audience.go) and whose
`sub` names the sender's service account, `system:serviceaccount:<namespace>:<name>`; the
sender caches it until five minutes before it expires (pkg/auth/token_provider.go: 1 h
tokens, 5 min buffer); the receiver answers 401 to a missing or invalid token
(pkg/auth/verifier.go).

Locally the broker signs delivery tokens with its own key and serves the public half as a
JWKS; each function signs its publish tokens with its own identity key, whose public half
the runner hands to the broker, as a ServiceAccount's token is checked against the cluster's
keys. A verified token is remembered until it expires, so a delivery pays one dictionary
lookup, not a signature check.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth.tokens import ALGORITHM, InvalidToken, KeySource, decode_signed, public_jwk

TOKEN_LIFETIME = 3600
REFRESH_BEFORE_EXPIRY = 300
LEEWAY = 5
REQUIRED = ["exp", "iat", "iss", "aud", "sub"]


def service_audience(namespace: str, name: str) -> str:
    """The audience of a Knative Service, as Eventing's GetAudience spells it."""
    return f"serving.knative.dev/service/{namespace}/{name}".lower()


def broker_audience(namespace: str, name: str) -> str:
    return f"eventing.knative.dev/broker/{namespace}/{name}".lower()


def service_account(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


class Unauthenticated(Exception):
    """No token, or one that cannot be trusted: 401. The message is safe to show."""


def bearer(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required")
    return token.strip()


class TokenSigner:
    """Signs tokens for any audience with one key; reuses each until it nears expiry."""

    def __init__(self, key: Ed25519PrivateKey, *, issuer: str, lifetime: int = TOKEN_LIFETIME):
        self._key = key
        self._jwk = public_jwk(key.public_key())
        self.kid: str = self._jwk["kid"]
        self._issuer = issuer
        self._lifetime = lifetime
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    def token(self, audience: str, subject: str) -> str:
        now = time.time()
        cached = self._cache.get((audience, subject))
        if cached is not None and cached[1] - REFRESH_BEFORE_EXPIRY > now:
            return cached[0]
        issued = int(now)
        claims = {
            "iss": self._issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "exp": issued + self._lifetime,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
        self._cache[(audience, subject)] = (token, issued + self._lifetime)
        return token

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [self._jwk]}


@dataclass(frozen=True)
class Verified:
    subject: str
    issuer: str
    kid: str
    expires: float


class TokenVerifier:
    """Checks a token for one audience: pinned algorithm, a known key, expiry, and the
    issuer when one is given (without one the caller checks who the key belongs to)."""

    def __init__(
        self, keys: KeySource, *, audience: str, issuer: str | None = None, remember: int = 4096
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._issuer = issuer
        self._remember = remember
        self._seen: OrderedDict[bytes, Verified] = OrderedDict()

    async def verify(self, token: str) -> Verified:
        digest = hashlib.sha256(token.encode()).digest()
        known = self._seen.get(digest)
        if known is not None and known.expires > time.time():
            return known
        verified = await self._check(token)
        self._seen[digest] = verified
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return verified

    async def _check(self, token: str) -> Verified:
        try:
            kid, claims = await decode_signed(
                token,
                self._keys,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY,
                required=REQUIRED,
            )
        except InvalidToken as exc:
            raise Unauthenticated(str(exc)) from None
        return Verified(str(claims["sub"]), str(claims["iss"]), kid, float(claims["exp"]))


class IdentityKeys:
    """The functions' public identity keys, by key id: who signed a publish token.

    Read from the runner's file, `{"<function>": <public JWK>, ...}`.
    """

    def __init__(self, by_function: Mapping[str, Mapping[str, Any]]) -> None:
        self._keys: dict[str, tuple[str, jwt.PyJWK]] = {}
        for function, raw in by_function.items():
            jwk = jwt.PyJWK(dict(raw), algorithm=ALGORITHM)
            self._keys[str(raw["kid"])] = (function, jwk)

    async def key(self, kid: str) -> jwt.PyJWK | None:
        found = self._keys.get(kid)
        return found[1] if found else None

    def function(self, kid: str) -> str | None:
        found = self._keys.get(kid)
        return found[0] if found else None


class PublishToken:
    """A function's token for the broker's ingress: self-signed with its identity key
    (`iss` = `sub` = its service account), as a client assertion (RFC 7523) is."""

    def __init__(self, key: Ed25519PrivateKey, *, subject: str, audience: str) -> None:
        self._signer = TokenSigner(key, issuer=subject)
        self._subject = subject
        self._audience = audience

    def __call__(self) -> str:
        return self._signer.token(self._audience, self._subject)

"""Access tokens: short-lived EdDSA (Ed25519) JWTs signed by the auth function.

Verifiers hold only public keys, fetched as a JWKS and picked by `kid`; the algorithm is
pinned, and `exp`, `iat`, `iss`, `aud`, `sub`, `role` and `jti` are all required.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from shared.auth.principal import Principal, Role

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


class InvalidToken(Exception):
    """The token cannot be trusted; the message is safe to show."""


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The JWK of a public key, its `kid` the RFC 7638 thumbprint (stable across restarts)."""
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(public_key))
    thumbprint_input = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(thumbprint_input.encode()).digest()
    jwk["kid"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    jwk.update({"alg": ALGORITHM, "use": "sig"})
    return jwk


def load_private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def generate_private_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    jti: str


class TokenIssuer:
    """Signs with the current key; publishes it and the retired keys' public halves.

    Rotation: make a new key current and move the old key's JWK to the retired set; tokens
    it signed stay verifiable until they expire (at most the access-token lifetime).
    """

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        retired_jwks: list[dict[str, Any]] | None = None,
    ) -> None:
        self._key = private_key
        self._jwk = public_jwk(private_key.public_key())
        self.kid: str = self._jwk["kid"]
        self._retired = [k for k in retired_jwks or [] if k.get("kid") != self.kid]
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    def issue(self, principal: Principal) -> IssuedToken:
        now = int(time.time())
        jti = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "sub": principal.user_id,
            "preferred_username": principal.username,
            "role": principal.role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + self._ttl,
            "jti": jti,
        }
        if principal.version is not None:
            claims["ver"] = principal.version
        if principal.password_change_required:
            claims["pwc"] = True
        return IssuedToken(self.sign(claims), self._ttl, jti)

    def sign(self, claims: dict[str, Any]) -> str:
        """Any token of this issuer (e.g. an admin's approval), signed with the current key;
        the caller sets `aud`, so that no verifier takes one kind for another."""
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    @property
    def issuer(self) -> str:
        return self._issuer

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [self._jwk, *self._retired]}


class KeySource(Protocol):
    async def key(self, kid: str) -> jwt.PyJWK | None: ...


def _okp_keys(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    return {
        raw["kid"]: jwt.PyJWK(raw, algorithm=ALGORITHM)
        for raw in jwks.get("keys", [])
        if isinstance(raw, dict) and raw.get("kid") and raw.get("kty") == "OKP"
    }


class StaticKeys:
    """Keys known in-process (the auth function verifies with its own JWKS)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = _okp_keys(jwks)

    async def key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


class RemoteJwks:
    """The auth function's JWKS over HTTP, cached by `kid`.

    An unknown `kid` triggers one refetch (a new signing key was added), at most once per
    `min_refresh_seconds`, so forged kids cannot make verifiers hammer the auth function.
    The whole set also expires after `max_age_seconds`: a key removed from the JWKS (a
    retired or compromised one) stops being trusted within that time, not at restart.
    """

    def __init__(
        self,
        url: str,
        *,
        min_refresh_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
        max_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._min_refresh = min_refresh_seconds
        self._max_age = max(max_age_seconds, min_refresh_seconds)
        self._client = client or httpx.AsyncClient(timeout=5.0)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._clock = clock

    async def key(self, kid: str) -> jwt.PyJWK | None:
        expired = self._clock() - self._fetched_at >= self._max_age
        if expired or kid not in self._keys:
            await self._refresh(forced=expired)
        return self._keys.get(kid)

    async def _refresh(self, *, forced: bool = False) -> None:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age < self._min_refresh or (forced and age < self._max_age):
                return  # fetched meanwhile, or too recently to ask again
            try:
                response = await self._client.get(self._url)
                response.raise_for_status()
                keys = _okp_keys(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWKError) as exc:
                raise KeysUnavailable(f"cannot fetch the signing keys: {exc}") from exc
            self._keys = keys
            self._fetched_at = self._clock()


async def decode_signed(
    token: str,
    keys: KeySource,
    *,
    audience: str,
    issuer: str | None,
    leeway: int,
    required: list[str],
    what: str = "token",
) -> tuple[str, dict[str, Any]]:
    """The key id and claims of a JWT signed by one of `keys`: pinned algorithm, a known
    key, audience, issuer (when given), expiry and the required claims; `InvalidToken`
    otherwise, its message naming `what`. One check for access tokens, approvals and
    event tokens. May raise `KeysUnavailable` (a 503, not a 401)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken(f"malformed {what}") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise InvalidToken(f"{what} algorithm or key id not accepted")
    key = await keys.key(kid)
    if key is None:
        raise InvalidToken(f"{what} signed by an unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken(f"{what} expired") from None
    except jwt.PyJWTError:
        raise InvalidToken(f"{what} rejected") from None
    return kid, claims


class TokenVerifier:
    """Checks an access token: pinned algorithm, known key, every required claim."""

    def __init__(
        self, keys: KeySource, *, issuer: str, audience: str, leeway_seconds: int = 5
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> Principal:
        _, claims = await decode_signed(
            token,
            self._keys,
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            required=REQUIRED_CLAIMS,
        )
        version = claims.get("ver")
        try:
            return Principal(
                user_id=str(claims["sub"]),
                username=str(claims.get("preferred_username", "")),
                role=Role(claims["role"]),
                version=version if isinstance(version, int) else None,
                password_change_required=claims.get("pwc") is True,
            )
        except (KeyError, ValueError):
            raise InvalidToken("token has no valid role") from None


class KeysUnavailable(Exception):
    """The verifier could not reach the JWKS: a 503 for the caller, not a 401."""

"""An admin's on-the-spot approval of a discount above the seller's limit.

The auth function issues it (`POST /api/auth/approvals` with the admin's own username and
password): an EdDSA JWT signed with the same keys as access tokens, for the audience
`acougue-approval`, with `role: admin`, `purpose: discount`, a 120 s life and a `jti`.
A separate audience keeps an approval from ever passing as an access token, and the other
way round; the `jti` lets each approval pay for one sale only.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import jwt

from shared.auth.tokens import ALGORITHM, InvalidToken, KeySource

APPROVAL_AUDIENCE = "acougue-approval"
DISCOUNT = "discount"
REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True)
class Approval:
    admin_id: UUID
    jti: str


class ApprovalVerifier:
    """Pinned algorithm, a key from auth's JWKS, issuer, audience, expiry, role and purpose."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str = APPROVAL_AUDIENCE,
        leeway_seconds: int = 5,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str, purpose: str = DISCOUNT) -> Approval:
        """The approving admin; raises InvalidToken (safe to show) for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed approval") from None
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise InvalidToken("approval algorithm or key id not accepted")
        key = await self._keys.key(header["kid"])
        if key is None:
            raise InvalidToken("approval signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("approval expired") from None
        except jwt.PyJWTError:
            raise InvalidToken("approval rejected") from None
        if claims.get("role") != "admin":
            raise InvalidToken("only an admin can approve")
        if claims.get("purpose") != purpose:
            raise InvalidToken(f"this approval is not for a {purpose}")
        try:
            admin_id = UUID(str(claims["sub"]))
        except ValueError:
            raise InvalidToken("approval names no user") from None
        jti = str(claims["jti"])
        if not 0 < len(jti) <= 100:
            raise InvalidToken("approval has no valid id")
        return Approval(admin_id, jti)

"""An admin's on-the-spot approval (e.g. a discount above the seller's limit), as a token.

`POST /api/auth/approvals` checks an active admin's username and password and answers a
JWT signed with auth's current key (the same JWKS as access tokens), audience
`acougue-approval`, valid two minutes, for one `purpose`. The function that needs the
approval verifies it with `verify_approval`. The audience differs from access tokens', so
an approval is never accepted as a session and a session never as an approval.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared.auth.principal import Principal, Role
from shared.auth.tokens import InvalidToken, KeySource, decode_signed

APPROVAL_AUDIENCE = "acougue-approval"
APPROVAL_TTL_SECONDS = 120
PURPOSES = frozenset({"discount"})


@dataclass(frozen=True)
class Approval:
    """A verified approval: who approved, for what, and its `jti` (single use: the
    consumer should record it with the change it approves and refuse a second use)."""

    principal: Principal
    purpose: str
    jti: str
    expires_at: int


def approval_claims(
    principal: Principal, purpose: str, *, issuer: str, now: int | None = None
) -> dict[str, Any]:
    issued = int(time.time()) if now is None else now
    return {
        "iss": issuer,
        "aud": APPROVAL_AUDIENCE,
        "sub": principal.user_id,
        "preferred_username": principal.username,
        "role": principal.role.value,
        "purpose": purpose,
        "iat": issued,
        "exp": issued + APPROVAL_TTL_SECONDS,
        "jti": str(uuid.uuid4()),
    }


async def check_approval(
    keys: KeySource, token: str, purpose: str, *, issuer: str, leeway_seconds: int = 5
) -> Approval:
    """The approval, or InvalidToken: wrong key, algorithm, issuer, audience or purpose,
    expired, or signed for someone who is not an admin."""
    _, claims = await decode_signed(
        token,
        keys,
        audience=APPROVAL_AUDIENCE,
        issuer=issuer,
        leeway=leeway_seconds,
        required=["exp", "iat", "iss", "aud", "sub", "jti", "purpose", "role"],
        what="approval",
    )
    if claims.get("purpose") != purpose:
        raise InvalidToken("approval given for another purpose")
    if claims.get("role") != Role.ADMIN.value:
        raise InvalidToken("approval not given by an admin")
    if int(claims["exp"]) - int(claims["iat"]) > APPROVAL_TTL_SECONDS:
        raise InvalidToken("approval lives too long")
    principal = Principal(
        user_id=str(claims["sub"]),
        username=str(claims.get("preferred_username", "")),
        role=Role.ADMIN,
    )
    return Approval(principal, purpose, str(claims["jti"]), int(claims["exp"]))


async def verify_approval(
    verifier_keys: KeySource, token: str, purpose: str, *, issuer: str
) -> Principal:
    """The admin who approved, or InvalidToken (see `check_approval`, which also gives
    the `jti` for single use)."""
    return (await check_approval(verifier_keys, token, purpose, issuer=issuer)).principal

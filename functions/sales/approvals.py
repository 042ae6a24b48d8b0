"""An admin's on-the-spot approval of a discount above the seller's limit.

The auth function issues it (`POST /api/auth/approvals` with the admin's own username and
password); `shared.auth.approvals` checks it (EdDSA, auth's JWKS, issuer, audience
`acougue-approval`, expiry, role admin, purpose). This adds what the counter needs: the
admin as a user id, and the `jti` with which each approval pays for one sale only.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.auth.approvals import check_approval
from shared.auth.tokens import InvalidToken, KeySource

DISCOUNT = "discount"


@dataclass(frozen=True)
class Approval:
    admin_id: UUID
    jti: str


class ApprovalVerifier:
    """Verifies approvals against auth's keys; raises InvalidToken (safe to show)."""

    def __init__(self, keys: KeySource, *, issuer: str) -> None:
        self._keys = keys
        self._issuer = issuer

    async def verify(self, token: str, purpose: str = DISCOUNT) -> Approval:
        approval = await check_approval(self._keys, token, purpose, issuer=self._issuer)
        try:
            admin_id = UUID(approval.principal.user_id)
        except ValueError:
            raise InvalidToken("approval names no user") from None
        if not 0 < len(approval.jti) <= 100:
            raise InvalidToken("approval has no valid id")
        return Approval(admin_id, approval.jti)

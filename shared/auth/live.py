"""The gateway's per-request check that a token's user still has the rights it carries.

Access tokens live up to 15 minutes; without this, a disabled or demoted user would keep
working until theirs expired. Each token carries the user's security stamp (`ver`); the
auth function bumps it on every role change, deactivation and new password, and answers
`POST /api/auth/check` from its database (one primary-key read). So the check costs one
cluster-local request per API call at the gateway, and nothing at the functions behind it.
"""

from __future__ import annotations

import httpx

from shared.errors import Problem

CHECK_PATH = "/api/auth/check"


class LiveSessions:
    """Calls the auth function's check; its refusal (401/403) reaches the caller as it is,
    and an auth function that cannot answer means 503: fail closed, never open."""

    def __init__(
        self, auth_url: str, *, timeout: float = 3.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self._url = auth_url.rstrip("/") + CHECK_PATH
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def check(self, token: str) -> None:
        try:
            answer = await self._client.post(
                self._url, headers={"authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError:
            raise Problem(503, "Cannot check the session right now; try again.") from None
        if answer.status_code == 204:
            return
        if answer.status_code in (401, 403):
            try:
                detail = str(answer.json().get("detail") or "Session ended.")
            except ValueError:
                detail = "Session ended."
            raise Problem(
                answer.status_code,
                detail,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                if answer.status_code == 401
                else None,
            )
        raise Problem(503, "Cannot check the session right now; try again.")

    async def aclose(self) -> None:
        await self._client.aclose()

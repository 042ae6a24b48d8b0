"""Logins and their refresh sessions, without the HTTP around them: the credential check
with its throttling, a new session's refresh token, and the rotation that detects a
stolen one. The caller commits (a failure is recorded even when the request is refused)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from functions.auth import domain, store
from shared.auth.passwords import hash_password_async, needs_rehash, verify_password_async
from shared.db.pool import Conn
from shared.errors import Problem

# Expired sessions purged along with each new one: bounded work per login.
PURGE_BATCH = 200


@dataclass(frozen=True)
class Sessions:
    limit: domain.LoginLimit
    refresh_ttl: timedelta
    session_max_age: timedelta

    async def checked_credentials(
        self, conn: Conn, username: str, password: str, address: str
    ) -> store.UserRecord | None:
        """The active user these credentials name, or None (a failure, recorded); 429
        while this username is throttled from this address, or this address is."""
        counts = await store.failure_counts(
            conn, username=username, address=address, window=self.limit.window
        )
        wait = domain.retry_after(self.limit, counts, datetime.now(UTC))
        if wait is not None:
            raise Problem(
                429,
                "Muitas tentativas de login. Tente novamente mais tarde.",
                headers={"Retry-After": str(wait)},
            )
        user = await store.find_by_username(conn, username)
        # Verify even for an unknown user (against a dummy hash): failure takes the same time.
        ok = await verify_password_async(user.password_hash if user else None, password)
        if not ok or user is None or not user.active:
            await store.record_failure(
                conn, username=username, address=address, window=self.limit.window
            )
            return None
        await store.clear_failures(conn, username=username, address=address)
        if needs_rehash(user.password_hash):
            # The shop raised the Argon2 parameters: the password is at hand only now.
            await store.set_password_hash(conn, user.id, await hash_password_async(password))
        return user

    async def open(self, conn: Conn, user: store.UserRecord) -> str:
        """A new login's refresh family (and, bounded, the expired sessions purged)."""
        await store.purge_sessions(conn, limit=PURGE_BATCH)
        token, token_hash = domain.new_refresh_token()
        await store.insert_refresh(
            conn,
            family_id=uuid.uuid4(),
            user_id=user.id,
            token_hash=token_hash,
            ttl=self.refresh_ttl,
            session_max_age=self.session_max_age,
        )
        return token

    async def rotate(self, conn: Conn, presented: str) -> tuple[store.UserRecord, str] | None:
        """The user and a new refresh token for a valid one; None when the session is over
        (unknown, revoked, expired, the user disabled) or the token was used before, which
        means it was stolen or replayed: then the whole family ends."""
        record = await store.find_refresh(conn, domain.hash_refresh_token(presented))
        if record is None or record.revoked_at is not None:
            return None
        user = await store.find_by_id(conn, record.user_id)
        now = datetime.now(UTC)
        if (
            record.rotated_at is not None
            or user is None
            or not user.active
            or record.expires_at <= now
            or record.session_expires_at <= now
        ):
            await store.revoke_family(conn, record.family_id)
            return None
        await store.mark_rotated(conn, record.id)
        await store.purge_sessions(conn, limit=PURGE_BATCH)
        token, token_hash = domain.new_refresh_token()
        await store.insert_refresh(
            conn,
            family_id=record.family_id,
            user_id=user.id,
            token_hash=token_hash,
            ttl=self.refresh_ttl,
            session_expires_at=record.session_expires_at,
        )
        return user, token

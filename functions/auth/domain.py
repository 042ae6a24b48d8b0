"""Auth rules, free of I/O: password policy, refresh tokens, the login rate limit."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

USERNAME = re.compile(r"^[a-z0-9._-]{3,40}$")
MIN_PASSWORD_LENGTH = 8


class PolicyError(ValueError):
    """A password or username the shop's policy refuses; the message is for the user."""


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise PolicyError("username: 3 to 40 characters, letters, digits, dot, dash or underscore")
    return name


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PolicyError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == normalize_username(username):
        raise PolicyError("password: must not be the username")


def new_refresh_token() -> tuple[str, str]:
    """A random token for the cookie and the hash that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginLimit:
    per_username: int
    per_address: int
    window: timedelta


@dataclass(frozen=True)
class FailureCounts:
    username: int
    address: int
    oldest_username: datetime | None
    oldest_address: datetime | None


def retry_after(limit: LoginLimit, counts: FailureCounts, now: datetime) -> int | None:
    """Seconds until a login may be tried again, or None when it may be tried now."""
    blocked = []
    if counts.username >= limit.per_username and counts.oldest_username is not None:
        blocked.append(counts.oldest_username)
    if counts.address >= limit.per_address and counts.oldest_address is not None:
        blocked.append(counts.oldest_address)
    if not blocked:
        return None
    free_at = max(blocked) + limit.window
    return max(1, math.ceil((free_at - now).total_seconds()))

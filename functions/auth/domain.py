"""Auth rules, free of I/O: password policy, refresh tokens, the login rate limit."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain_errors import Invalid

USERNAME = re.compile(r"^[a-z0-9._-]{3,40}$")
MIN_PASSWORD_LENGTH = 8


class PolicyError(Invalid):
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
    """Failed logins are counted per (username, client address) and per address.

    After `per_username` failures of one username from one address, each further try from
    that address waits twice as long as the last (1 s, 2 s, 4 s... up to `max_delay`); the
    same username from any other address is not slowed, so an attacker cannot lock a real
    user out, only slow themselves down. One address failing `per_address` times (across
    usernames: password spraying) waits until the oldest failure leaves the window.
    """

    per_username: int
    per_address: int
    window: timedelta
    max_delay: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureCounts:
    pair: int  # this username from this address, within the window
    address: int  # this address, any username, within the window
    last_pair: datetime | None
    oldest_address: datetime | None


def pair_delay(limit: LoginLimit, failures: int) -> timedelta:
    """How long after its last failure a (username, address) pair may try again."""
    if failures < limit.per_username:
        return timedelta(0)
    exponent = min(failures - limit.per_username, 30)
    return min(limit.max_delay, timedelta(seconds=2**exponent))


def retry_after(limit: LoginLimit, counts: FailureCounts, now: datetime) -> int | None:
    """Seconds until a login may be tried again, or None when it may be tried now."""
    free_at: list[datetime] = []
    if counts.last_pair is not None and counts.pair >= limit.per_username:
        free_at.append(counts.last_pair + pair_delay(limit, counts.pair))
    if counts.oldest_address is not None and counts.address >= limit.per_address:
        free_at.append(counts.oldest_address + limit.window)
    later = [at for at in free_at if at > now]
    if not later:
        return None
    return max(1, math.ceil((max(later) - now).total_seconds()))


def client_address(
    forwarded_for: str, peer: str | None, *, trusted_hops: int, trusted_networks: tuple[str, ...]
) -> str:
    """The client's address from X-Forwarded-For, trusting only what our proxies wrote.

    Each trusted proxy appends the address it received the request from, so the right-most
    `trusted_hops` entries were written by proxies we run; the entry they name is the
    client. Entries to its right that fall in `trusted_networks` (proxies that are only
    sometimes on the path, such as Knative's activator) are skipped too. Everything left of
    the client was written by the client and is never trusted. With no hop trusted, the
    peer's own address is the client.
    """
    entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
    if trusted_hops <= 0 or not entries:
        return (peer or "unknown")[:64]
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted_networks]
    index = max(0, len(entries) - trusted_hops)
    while index > 0 and _in_networks(entries[index], networks):
        index -= 1
    return entries[index][:64]


def _in_networks(entry: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(entry.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)

"""The caller of a request, as its verified access token says."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ESTOQUISTA = "estoquista"
    VENDEDOR = "vendedor"


ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Principal:
    """`version` is the user's security stamp when the token was signed (a role change,
    deactivation or new password bumps it); `password_change_required` marks the session
    of a user who must set a new password before doing anything else."""

    user_id: str
    username: str
    role: Role
    version: int | None = None
    password_change_required: bool = False

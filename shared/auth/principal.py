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
    user_id: str
    username: str
    role: Role

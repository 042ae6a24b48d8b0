"""The shop's users: who they are, what they may do, and the admin's changes to them.

Login, refresh and the session cookie stay in main.py (they are about the HTTP exchange);
what is decided about a user lives here and raises the domain's refusals."""

from __future__ import annotations

import uuid
from dataclasses import replace
from uuid import UUID

from functions.auth import domain, store
from shared.auth.passwords import hash_password_async
from shared.auth.principal import Role
from shared.contracts.auth import UserIn, UserOut, UserPatch
from shared.db.uow import UnitOfWork
from shared.domain_errors import Conflict, Invalid, NotFound
from shared.events.auth import UserCreated, UserUpdated

# A change to any of these voids the user's tokens and sessions at once.
RIGHTS = frozenset({"password", "active", "role"})


def user_out(user: store.UserRecord) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,
        active=user.active,
        created_at=user.created_at,
    )


def user_state(user: store.UserRecord) -> dict[str, object]:
    return {
        "user_id": str(user.id),
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role.value,
        "active": user.active,
    }


async def new_user(body: UserIn) -> store.UserRecord:
    """The user the admin asks for, its password hashed (outside any transaction: Argon2
    takes a good part of a second)."""
    username = domain.check_username(body.username)
    domain.check_password(username, body.password)
    return store.UserRecord(
        id=uuid.uuid4(),
        username=username,
        full_name=body.full_name,
        password_hash=await hash_password_async(body.password),
        role=Role(body.role),
        active=True,
    )


async def create_user(uow: UnitOfWork, user: store.UserRecord) -> None:
    if not await store.insert_user(uow.conn, user):
        raise Conflict("Este nome de usuário já existe.")
    await uow.emit(UserCreated(**user_state(user)), subject=str(user.id))


async def _patched(user: store.UserRecord, patch: UserPatch) -> tuple[store.UserRecord, list[str]]:
    """The user after the patch, and the names of the fields that really changed."""
    fields = patch.model_fields_set
    changed: list[str] = []
    updated = user
    if patch.password is not None:
        domain.check_password(user.username, patch.password)
        updated = replace(updated, password_hash=await hash_password_async(patch.password))
        changed.append("password")
    if "full_name" in fields and patch.full_name != user.full_name:
        updated = replace(updated, full_name=patch.full_name)
        changed.append("full_name")
    if patch.role is not None and patch.role != user.role.value:
        updated = replace(updated, role=Role(patch.role))
        changed.append("role")
    if patch.active is not None and patch.active != user.active:
        updated = replace(updated, active=patch.active)
        changed.append("active")
    return updated, changed


async def update_user(uow: UnitOfWork, user_id: UUID, patch: UserPatch) -> store.UserRecord:
    for name in ("role", "active", "password"):
        if name in patch.model_fields_set and getattr(patch, name) is None:
            raise Invalid(f"{name} cannot be null.")
    user = await store.find_by_id(uow.conn, user_id, for_update=True)
    if user is None:
        raise NotFound("No such user.")
    updated, changed = await _patched(user, patch)
    losing_admin = (
        user.role is Role.ADMIN
        and user.active
        and (updated.role is not Role.ADMIN or not updated.active)
    )
    if losing_admin and await store.active_admins(uow.conn) <= 1:
        raise Conflict("The shop must keep at least one active admin.")
    if changed:
        rights = bool(RIGHTS & set(changed))
        # New rights or credentials: a new security stamp voids every token now, and every
        # open session of this user ends.
        await store.update_user(uow.conn, updated, new_stamp=rights)
        if rights:
            await store.revoke_user_sessions(uow.conn, user.id)
        await uow.emit(
            UserUpdated(**user_state(updated), changed=sorted(changed)), subject=str(user.id)
        )
    return updated

"""Events of the auth domain: the audit trail of user management."""

from __future__ import annotations

from pydantic import Field

from shared.events.registry import Payload, event_type
from shared.vocabulary import RoleName


class UserState(Payload):
    user_id: str
    username: str
    full_name: str | None
    role: RoleName
    active: bool


@event_type("user.created", emitted_by="auth")
class UserCreated(UserState):
    pass


@event_type("user.updated", emitted_by="auth")
class UserUpdated(UserState):
    changed: list[str] = Field(
        description="fields changed; a password change is named, never its value"
    )

"""What a domain says when it refuses, with no notion of HTTP or of the broker.

Services and pure domain code raise these; `shared.errors` maps them to problem+json in one
place, for an API request (`http_problem`) and for an event delivery (`delivery_problem`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Refused(ValueError):
    """A business rule refused a command or an event: the caller's to fix, never retried.
    (A ValueError: to Python it is a value the operation cannot take.)

    `status` is what an API caller gets; an event refused this way is dead-lettered at once,
    whatever the subclass (a retry would meet the same rule). `extra` joins the problem body
    (e.g. the barcode a label named).
    """

    status: ClassVar[int] = 422

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(Refused):
    """A value the caller must change (422)."""


class Conflict(Refused):
    """The current state of what the command names forbids it (409)."""

    status = 409


class NotFound(Refused):
    """What the command names does not exist, or is not the caller's to see (404)."""

    status = 404


class Forbidden(Refused):
    """The caller may not do this, whatever the input (403)."""

    status = 403


class NotYet(Exception):
    """An event that follows another one not applied here yet (events travel independently):
    answered 409, which the broker retries with backoff (Knative's SelectiveRetry) until it
    applies, or dead-letters after the last retry. The one way every domain says "not yet"."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

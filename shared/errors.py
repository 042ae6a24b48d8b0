"""RFC 9457 problem details: the only shape an error takes on HTTP."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from shared.domain_errors import NotYet, Refused

PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


# What a 503 says when it knows no better (a shed request says its own, from the line ahead).
UNAVAILABLE_RETRY_AFTER_SECONDS = 1


class Problem(Exception):
    """Raised by a command that the caller must fix (4xx) or that cannot run now (5xx)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.type = type_
        self.errors = errors
        self.headers = headers or {}
        if status == 503:  # cannot run now: say when to try again (RFC 9110 §10.2.3)
            self.headers.setdefault("Retry-After", str(UNAVAILABLE_RETRY_AFTER_SECONDS))
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def response(self) -> Response:
        return Response(
            json.dumps(self.body(), ensure_ascii=False),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=self.headers,
        )


def validation_problem(exc: ValidationError, *, status: int = 422) -> Problem:
    """A field-by-field 422 that names each bad field and never echoes a secret value."""
    errors = [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return Problem(status, "The request has invalid fields.", errors=errors)


def invalid_json_problem() -> Problem:
    return Problem(422, "The request body is not valid JSON.")


def http_problem(refusal: Refused) -> Problem:
    """A domain's refusal as an API caller sees it: its own status (422, 409, 404, 403)."""
    return Problem(refusal.status, refusal.detail, **refusal.extra)


def delivery_problem(exc: Refused | NotYet) -> Problem:
    """A refusal while applying an event, as the broker must act on it: "not yet" is 409
    (retried); a rule's refusal is 422 whatever its HTTP status (dead-lettered at once:
    Knative retries 404 and 409, and a retry would meet the same rule)."""
    if isinstance(exc, NotYet):
        return Problem(409, exc.detail)
    return Problem(422, exc.detail, **exc.extra)

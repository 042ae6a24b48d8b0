"""Problem details and the outbox's retry schedule."""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import BaseModel, ValidationError

from shared.db.outbox import MAX_BACKOFF, backoff
from shared.errors import Problem, validation_problem


def test_problem_is_rfc9457_json() -> None:
    response = Problem(409, "Another product already has this PLU.").response()
    assert response.status_code == 409
    assert response.media_type == "application/problem+json"
    body = json.loads(bytes(response.body))
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "Another product already has this PLU.",
    }


def test_validation_problem_names_fields_without_echoing_input() -> None:
    class Login(BaseModel):
        password: int

    try:
        Login.model_validate({"password": "s3cret-value"})
    except ValidationError as exc:
        body = validation_problem(exc).body()
    assert body["errors"][0]["loc"] == ["password"]
    assert "s3cret-value" not in json.dumps(body)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (1, 2, 4)]
    assert backoff(40) == MAX_BACKOFF

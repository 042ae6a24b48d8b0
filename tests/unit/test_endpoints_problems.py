"""One mapping from a domain's refusal to problem+json, for an API call and for an event."""

from __future__ import annotations

import json

import pytest

from functions.catalog.domain import CatalogError
from functions.finance.domain import PostingError
from functions.inventory.domain import RuleError
from functions.sales.domain import SaleConflict, SaleError
from shared.domain_errors import Conflict, Forbidden, Invalid, NotFound, NotYet, Refused
from shared.errors import (
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    Problem,
    delivery_problem,
    http_problem,
)


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (Invalid("bad"), 422),
        (Conflict("state"), 409),
        (NotFound("gone"), 404),
        (Forbidden("no"), 403),
        (SaleError("bad"), 422),
        (SaleConflict("paid already"), 409),
        (RuleError("rule"), 422),
        (PostingError("rule"), 422),
        (CatalogError("rule"), 422),
    ],
)
def test_an_api_caller_gets_the_refusals_own_status(refusal: Refused, status: int) -> None:
    problem = http_problem(refusal)
    assert (problem.status, problem.detail) == (status, refusal.detail)


def test_extra_fields_join_the_problem_body() -> None:
    body = json.loads(
        bytes(http_problem(Forbidden("no", code="x", limit_cents=10)).response().body)
    )
    assert (body["status"], body["code"], body["limit_cents"]) == (403, "x", 10)


@pytest.mark.parametrize("refusal", [Invalid("a"), Conflict("b"), NotFound("c"), Forbidden("d")])
def test_a_refused_event_is_dead_lettered_at_once(refusal: Refused) -> None:
    # 422 whatever the HTTP status: Knative's SelectiveRetry retries 404 and 409.
    assert delivery_problem(refusal).status == 422


def test_not_yet_is_the_one_retried_answer() -> None:
    problem = delivery_problem(NotYet("Sale 1 is not known here yet."))
    assert (problem.status, problem.detail) == (409, "Sale 1 is not known here yet.")


def test_every_503_says_when_to_try_again() -> None:
    """A client (and the bench's overload count) can rely on Retry-After on any 503."""
    assert Problem(503, "The database is unavailable; try again.").response().headers[
        "retry-after"
    ] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    shed = Problem(503, "busy", headers={"Retry-After": "7"}).response()
    assert shed.headers["retry-after"] == "7", "a known wait wins"
    for status in (400, 409, 422, 500, 502, 504):
        assert "retry-after" not in Problem(status, "x").response().headers

"""Counter fraud (issue 14): a vendedor's discount above the limit needs an admin, on the spot.

complete-sale on the real PostgreSQL, with approvals made here as auth's
`POST /api/auth/approvals` makes them (`approval_claims`, signed by `TokenIssuer`: EdDSA,
audience `acougue-approval`, role admin, purpose discount, 120 s, jti), but by a key these
tests publish.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from functions.sales import service
from functions.sales.approvals import ApprovalVerifier
from functions.sales.scale_labels import DEFAULT_MASK, ScaleMask
from shared.auth.approvals import APPROVAL_AUDIENCE, APPROVAL_TTL_SECONDS, approval_claims
from shared.auth.principal import Principal, Role
from shared.auth.tokens import StaticKeys, TokenIssuer, public_jwk
from shared.contracts.sales import SaleIn
from shared.domain_errors import Refused
from shared.errors import Problem, http_problem
from shared.runtime import Runtime
from tests.functions.support import counter_product, function_runtime
from tests.support.database import ProvisionedDatabase

ISSUER = "acougue-auth"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
MASK = ScaleMask.from_setting(DEFAULT_MASK)
ADMIN_ID = str(uuid.uuid4())
SELLER = Principal(user_id=str(uuid.uuid4()), username="joana", role=Role.VENDEDOR)
ADMIN = Principal(user_id=ADMIN_ID, username="admin", role=Role.ADMIN)
POLICY = service.DiscountPolicy(
    limit_percent={Role.VENDEDOR: 10},
    verifier=ApprovalVerifier(StaticKeys({"keys": [public_jwk(KEY.public_key())]}), issuer=ISSUER),
)


def approval(key: Ed25519PrivateKey = KEY, **overrides: Any) -> str:
    """ADMIN's approval of a discount as auth issues it, signed by `key`, with `overrides`
    (None drops a claim)."""
    claims = {**approval_claims(ADMIN, "discount", issuer=ISSUER), **overrides}
    signer = TokenIssuer(
        key, issuer=ISSUER, audience=APPROVAL_AUDIENCE, ttl_seconds=APPROVAL_TTL_SECONDS
    )
    return signer.sign({k: v for k, v in claims.items() if v is not None})


@pytest.fixture
async def runtime(database: ProvisionedDatabase) -> Runtime:
    return function_runtime(
        database, "sales", "complete_sale", k_sink=None, event_authentication="off"
    )


@pytest.fixture
async def product_id(runtime: Runtime) -> str:
    """A product at R$ 100,00/kg in the counter's catalogue."""
    return await counter_product(runtime, "Picanha", 10000)


async def sell(
    runtime: Runtime,
    product_id: str,
    discount_cents: int,
    *,
    who: Principal = SELLER,
    token: str | None = None,
    key: str | None = None,
) -> Any:
    body = SaleIn.model_validate(
        {
            "items": [{"product_id": product_id, "quantity": "1.000"}],
            "discount_cents": discount_cents,
            "payment": {"method": "pix"},
            **({"discount_approval": token} if token else {}),
        }
    )
    async with await runtime.unit_of_work() as uow:
        sale, _ = await service.complete_sale(
            uow, who, key or str(uuid.uuid4()), body, MASK, POLICY
        )
        await uow.commit()
    return sale


async def refused(runtime: Runtime, product_id: str, discount: int, **kw: Any) -> Problem:
    """The service's refusal as the API answers it (shared.errors.http_problem)."""
    with pytest.raises(Refused) as caught:
        await sell(runtime, product_id, discount, **kw)
    return http_problem(caught.value)


async def test_a_vendedor_gives_up_to_the_limit_alone(runtime: Runtime, product_id: str) -> None:
    sale = await sell(runtime, product_id, 1000)  # exactly 10 % of R$ 100,00
    assert (sale.total_cents, sale.discount_approved_by) == (9000, None)


async def test_above_the_limit_a_vendedor_needs_an_admin(runtime: Runtime, product_id: str) -> None:
    problem = await refused(runtime, product_id, 1001)
    assert problem.status == 403
    assert problem.extra["code"] == "discount_approval_required"
    assert problem.extra["limit_cents"] == 1000
    whole = await refused(runtime, product_id, 10000)  # the 100 % discount of issue 14
    assert whole.status == 403


async def test_an_admin_approval_lets_the_sale_through_once(
    runtime: Runtime, product_id: str
) -> None:
    token = approval()
    key = str(uuid.uuid4())
    sale = await sell(runtime, product_id, 5000, token=token, key=key)
    assert sale.total_cents == 5000
    assert str(sale.discount_approved_by) == ADMIN_ID
    # A retry of the same sale (same key) answers it again, even with a fresh approval.
    again = await sell(runtime, product_id, 5000, token=approval(), key=key)
    assert again.id == sale.id
    # The approval pays for one sale only.
    reused = await refused(runtime, product_id, 5000, token=token)
    assert (reused.status, reused.extra["code"]) == (403, "discount_approval_invalid")
    pool = await runtime.pool.get()
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT data FROM outbox WHERE aggregate_id = %s AND event_type = %s",
                (str(sale.id), "com.acougue.sale.completed"),
            )
        ).fetchone()
    assert row is not None
    assert row["data"]["discount_approved_by"] == ADMIN_ID


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: approval(role="vendedor"), id="not-an-admin"),
        pytest.param(lambda: approval(purpose="price"), id="other-purpose"),
        pytest.param(lambda: approval(purpose=None), id="no-purpose"),
        pytest.param(lambda: approval(aud="acougue"), id="an-access-token-audience"),
        pytest.param(lambda: approval(iss="someone-else"), id="other-issuer"),
        pytest.param(lambda: approval(exp=int(time.time()) - 60), id="expired"),
        pytest.param(lambda: approval(OTHER_KEY), id="unknown-key"),
        pytest.param(lambda: approval(jti=None), id="no-jti"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
    ],
)
async def test_anything_but_a_valid_admin_approval_is_refused(
    runtime: Runtime, product_id: str, token: Any
) -> None:
    problem = await refused(runtime, product_id, 2000, token=token())
    assert (problem.status, problem.extra["code"]) == (403, "discount_approval_invalid")


async def test_an_admin_has_no_limit(runtime: Runtime, product_id: str) -> None:
    sale = await sell(runtime, product_id, 10000, who=ADMIN)
    assert sale.total_cents == 0

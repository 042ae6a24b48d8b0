"""The broker authenticates both ways (Knative's OIDC and EventPolicy, locally), on both
backends: who may publish what at the ingress, and a token for each receiver's audience on
every delivery, dead letters included."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jwt
import pytest

from shared.auth.tokens import generate_private_key_pem, load_private_key, public_jwk
from shared.events import identity
from tests.broker.harness import Recorder, binary_headers, new_id, running_broker
from tests.broker.specs import NAMESPACE, SALE_COMPLETED, SUBSCRIBER, delivery, topology, trigger

TOPOLOGY = topology([trigger("sales", {"type": SALE_COMPLETED})], delivery(retry=0))
SALE = b'{"sale_id": "s-1"}'


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """Identity keys of two functions, and the file the runner would give the broker."""
    pems = {name: generate_private_key_pem() for name in ("complete-sale", "outbox-relay")}
    public = {n: public_jwk(load_private_key(p).public_key()) for n, p in pems.items()}
    (tmp_path / "publishers.json").write_text(json.dumps(public))
    return pems


def _as(pems: dict[str, str], function: str) -> dict[str, str]:
    token = identity.PublishToken(
        load_private_key(pems[function]),
        subject=identity.service_account(NAMESPACE, function),
        audience=identity.broker_audience(NAMESPACE, "default"),
    )()
    return {"authorization": f"Bearer {token}"}


async def test_the_ingress_admits_only_owners_and_forwarders(
    amqp: str | None,
    recorder: Recorder,
    client: httpx.AsyncClient,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    settings = {
        "ingress_authentication": "required",
        "publishers_file": tmp_path / "publishers.json",
    }
    async with running_broker(TOPOLOGY, recorder, amqp, **settings) as broker:
        event = binary_headers(new_id())  # sale.completed from /acougue/complete-sale
        anonymous = await client.post(broker.url, content=SALE, headers=event)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        owner = await client.post(
            broker.url, content=SALE, headers={**event, **_as(keys, "complete-sale")}
        )
        assert owner.status_code == 202, owner.text
        relayed = {**binary_headers(new_id()), **_as(keys, "outbox-relay")}
        assert (await client.post(broker.url, content=SALE, headers=relayed)).status_code == 202
        other_type = {
            **binary_headers(new_id(), "com.acougue.payment.approved"),
            **_as(keys, "complete-sale"),
        }
        assert (await client.post(broker.url, content=SALE, headers=other_type)).status_code == 403
        stranger = identity.PublishToken(
            load_private_key(generate_private_key_pem()),
            subject=identity.service_account(NAMESPACE, "complete-sale"),
            audience=identity.broker_audience(NAMESPACE, "default"),
        )()
        forged = {**binary_headers(new_id()), "authorization": f"Bearer {stranger}"}
        assert (await client.post(broker.url, content=SALE, headers=forged)).status_code == 401
        delivered = await recorder.wait_for("/sales", 2)
        assert {r.headers["ce-id"] for r in delivered} == {
            event["ce-id"],
            relayed["ce-id"],
        }


async def test_every_delivery_carries_a_token_for_its_receiver(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.answer("/sales", 400)  # refused: dead-lettered at once
    async with running_broker(TOPOLOGY, recorder, amqp) as broker:
        event_id = new_id()
        accepted = await client.post(broker.url, content=SALE, headers=binary_headers(event_id))
        assert accepted.status_code == 202
        (first,) = await recorder.wait_for("/sales", 1)
        (letter,) = await recorder.wait_for("/dls", 1)
        jwks = (await client.get(broker.url + "/.well-known/jwks.json")).json()
        key = jwt.PyJWK(jwks["keys"][0], algorithm="EdDSA")
        audience = identity.service_audience(NAMESPACE, SUBSCRIBER)
        senders = (
            (first, "sales-oidc-eventing.knative.dev-trigger"),  # the Trigger's account
            (letter, "default-oidc-eventing.knative.dev-broker"),  # the Broker's dead letter
        )
        for received, sender in senders:
            token = received.headers["authorization"].removeprefix("Bearer ")
            claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=audience)
            assert claims["iss"] == "acougue-broker"
            assert claims["sub"] == identity.service_account(NAMESPACE, sender)
            assert claims["exp"] - claims["iat"] == identity.TOKEN_LIFETIME

"""The CloudEvent envelope: binary mode out, binary or structured mode in."""

from __future__ import annotations

import json

import pytest

from shared.errors import Problem
from shared.events.envelope import Envelope, new_envelope
from shared.subscriber import parse_cloud_event


def test_binary_round_trip_keeps_every_attribute_and_the_data() -> None:
    sent = new_envelope(
        type_="com.acougue.product.created",
        source="/acougue/create-product",
        subject="p-1",
        data={"name": "Picanha", "price_cents": 8990},
        actor="user-7",
    )
    received = parse_cloud_event(sent.binary_headers(), sent.body())
    assert received == sent
    assert received.actor == "user-7"


def test_structured_mode_is_accepted() -> None:
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/s",
            "type": "com.acougue.x",
            "datacontenttype": "application/json",
            "data": {"a": 1},
        }
    ).encode()
    event = parse_cloud_event({"content-type": "application/cloudevents+json"}, body)
    assert (event.id, event.data) == ("e-1", {"a": 1})


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},  # no ce- attributes at all
        {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s"},  # no type
        {"ce-specversion": "0.3", "ce-id": "1", "ce-source": "/s", "ce-type": "t"},
    ],
)
def test_what_is_not_a_cloudevent_is_a_400(headers: dict[str, str]) -> None:
    with pytest.raises(Problem) as caught:
        parse_cloud_event(headers, b"{}")
    assert caught.value.status == 400


def test_extension_names_follow_the_spec() -> None:
    with pytest.raises(ValueError, match="extension"):
        Envelope(id="1", source="/s", type="t", extensions={"Bad-Name": "x"})

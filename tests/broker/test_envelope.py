"""Reading binary and structured CloudEvents, writing binary ones, Knative's error extensions."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tooling.broker.delivery import ERROR_DATA_MAX_LENGTH, Attempt, DeliveryResult, error_extensions
from tooling.broker.envelope import (
    Envelope,
    InvalidEvent,
    decode_header_value,
    encode_header_value,
    parse_http_event,
    to_binary_http,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "e-1",
    "ce-source": "/acougue/complete-sale",
    "ce-type": "com.acougue.sale.completed",
    "ce-subject": "sale-9",
    "ce-actor": "u-1",
    "content-type": "application/json",
}


def structured(**fields: object) -> bytes:
    event = {
        "specversion": "1.0",
        "id": "e-2",
        "source": "/acougue/x",
        "type": "com.acougue.t",
        **fields,
    }
    return json.dumps(event).encode()


def test_binary_event_keeps_attributes_extensions_and_raw_data() -> None:
    envelope = parse_http_event({**BINARY, "traceparent": TRACEPARENT}, b'{"total_cents": 1250}')
    assert envelope.attributes == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/acougue/complete-sale",
        "type": "com.acougue.sale.completed",
        "subject": "sale-9",
        "actor": "u-1",
        "datacontenttype": "application/json",
    }
    assert envelope.data == b'{"total_cents": 1250}'
    assert envelope.trace == {"traceparent": TRACEPARENT}


def test_the_broker_invents_no_time() -> None:
    assert "time" not in parse_http_event(BINARY, b"{}").attributes
    assert (
        "time"
        not in parse_http_event(
            {"content-type": "application/cloudevents+json"}, structured()
        ).attributes
    )
    timed = parse_http_event({**BINARY, "ce-time": "2025-01-02T03:04:05Z"}, b"{}")
    assert timed.attributes["time"] == "2025-01-02T03:04:05Z"


def test_structured_json_data_becomes_compact_json_bytes() -> None:
    body = structured(data={"b": [1, 2], "a": "ção"}, actor="u-1", time="2025-01-02T03:04:05Z")
    envelope = parse_http_event({"content-type": "application/cloudevents+json"}, body)
    assert json.loads(envelope.data) == {"b": [1, 2], "a": "ção"}
    assert envelope.attributes["datacontenttype"] == "application/json"
    assert envelope.attributes["actor"] == "u-1"
    assert envelope.attributes["time"] == "2025-01-02T03:04:05Z"


def test_structured_text_and_base64_data_are_taken_as_is() -> None:
    text = parse_http_event({}, structured(datacontenttype="text/plain", data="olá"))
    assert text.data == "olá".encode()
    raw = parse_http_event({}, structured(data_base64=base64.b64encode(b"\x00\x01").decode()))
    assert raw.data == b"\x00\x01"


def test_structured_extension_values_become_canonical_strings() -> None:
    envelope = parse_http_event({}, structured(attempt=3, urgent=True))
    assert (envelope.attributes["attempt"], envelope.attributes["urgent"]) == ("3", "true")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({k: v for k, v in BINARY.items() if k != "ce-type"}, b"{}"),
        ({k: v for k, v in BINARY.items() if k != "ce-source"}, b"{}"),
        ({**BINARY, "ce-specversion": "0.3"}, b"{}"),
        ({**BINARY, "ce-id": ""}, b"{}"),
        ({"content-type": "application/cloudevents+json"}, b"{not json"),
        ({"content-type": "application/cloudevents+json"}, b"[]"),
        ({"content-type": "application/json"}, b'{"hello": "world"}'),
        ({}, structured(data_base64="%%%")),
        ({}, structured(nested={"no": "objects"})),
        ({"content-type": "text/plain"}, b""),
    ],
)
def test_invalid_events_are_refused(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        parse_http_event(headers, body)


def test_a_traceparent_extension_is_dropped_and_only_stands_in_for_a_missing_header() -> None:
    from_extension = parse_http_event({**BINARY, "ce-traceparent": TRACEPARENT}, b"{}")
    assert from_extension.trace == {"traceparent": TRACEPARENT}
    assert "traceparent" not in from_extension.attributes
    header_wins = parse_http_event(
        {**BINARY, "ce-traceparent": "00-other", "traceparent": TRACEPARENT}, b"{}"
    )
    assert header_wins.trace == {"traceparent": TRACEPARENT}


def test_binary_delivery_headers_round_trip() -> None:
    envelope = parse_http_event(
        {**BINARY, "tracestate": "dd=s:1", "traceparent": TRACEPARENT}, b"[1]"
    )
    headers, body = to_binary_http(envelope)
    assert headers["content-type"] == "application/json"
    assert headers["ce-actor"] == "u-1"
    assert "ce-datacontenttype" not in headers
    assert (headers["traceparent"], headers["tracestate"]) == (TRACEPARENT, "dd=s:1")
    assert parse_http_event(headers, body) == envelope


def test_non_ascii_attribute_values_are_percent_encoded_in_headers() -> None:
    envelope = Envelope({**parse_http_event(BINARY, b"").attributes, "subject": 'açougue "5%" off'})
    headers, _ = to_binary_http(envelope)
    assert headers["ce-subject"] == "a%C3%A7ougue%20%225%25%22%20off"
    assert parse_http_event(headers, b"").attributes["subject"] == 'açougue "5%" off'


@given(st.text())
def test_header_encoding_is_printable_ascii_and_reversible(value: str) -> None:
    encoded = encode_header_value(value)
    assert all(0x21 <= ord(c) <= 0x7E for c in encoded)
    assert decode_header_value(encoded) == value


def _failed(status: int | None, body: bytes) -> DeliveryResult:
    return DeliveryResult("http://sub.local/x", Attempt(status, body, 0.01), attempts=3)


def test_error_extensions_carry_destination_status_and_base64_body() -> None:
    extensions = error_extensions(_failed(503, b"busy"))
    assert extensions == {
        "knativeerrordest": "http://sub.local/x",
        "knativeerrorcode": "503",
        "knativeerrordata": base64.b64encode(b"busy").decode(),
    }


def test_no_answer_is_recorded_as_500_with_the_dispatch_error() -> None:
    extensions = error_extensions(_failed(None, b"dispatch error: ConnectError: refused"))
    assert extensions["knativeerrorcode"] == "500"
    assert base64.b64decode(extensions["knativeerrordata"]).startswith(b"dispatch error:")


def test_error_data_is_cut_at_1024_encoded_characters() -> None:
    data = error_extensions(_failed(500, b"x" * 5000))["knativeerrordata"]
    assert len(data) == ERROR_DATA_MAX_LENGTH == 1024
    assert data == base64.b64encode(b"x" * 5000).decode()[:1024]

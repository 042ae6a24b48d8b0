"""One CloudEvent as the broker carries it: string attributes, raw data bytes, trace context.

Both backends and the delivery code share this shape, so an event leaves the broker exactly
as it came in, whatever mode (binary or structured) the publisher used.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from cloudevents.exceptions import GenericException
from cloudevents.http import from_http

REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")
TRACE_HEADERS = ("traceparent", "tracestate")
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]+$")
# CloudEvents HTTP binding 1.0.2, 3.1.3.2: space, '"', '%' and anything outside printable
# ASCII is percent-encoded in header values.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


class InvalidEvent(ValueError):
    """The request does not hold a valid CloudEvents 1.0 event (the publisher's fault)."""


@dataclass(frozen=True)
class Envelope:
    """An event in transit: every attribute (extensions included) as its canonical string."""

    attributes: Mapping[str, str]
    data: bytes = b""
    trace: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.attributes["id"]

    @property
    def type(self) -> str:
        return self.attributes["type"]

    @property
    def source(self) -> str:
        return self.attributes["source"]

    def with_extensions(self, extensions: Mapping[str, str]) -> Envelope:
        return Envelope({**self.attributes, **extensions}, self.data, self.trace)


def attribute_string(value: Any) -> str:
    """The canonical string of a CloudEvents attribute value (spec 1.0, type system)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    raise InvalidEvent(f"attribute value of unsupported type {type(value).__name__}: {value!r}")


def encode_header_value(value: str) -> str:
    return quote(value, safe=_HEADER_SAFE)


def decode_header_value(value: str) -> str:
    return unquote(value)


def to_binary_http(envelope: Envelope) -> tuple[dict[str, str], bytes]:
    """Headers and body of a binary-mode request, the only mode Knative delivers in."""
    headers: dict[str, str] = {}
    for name, value in envelope.attributes.items():
        if name == "datacontenttype":
            headers["content-type"] = value
        else:
            headers[f"ce-{name}"] = encode_header_value(value)
    headers.update(envelope.trace)
    return headers, envelope.data


def parse_http_event(headers: Mapping[str, str], body: bytes) -> Envelope:
    """Read a binary- or structured-mode CloudEvents 1.0 request, else raise `InvalidEvent`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    binary = "ce-specversion" in lowered
    if binary:
        lowered = {
            name: decode_header_value(value) if name.startswith("ce-") else value
            for name, value in lowered.items()
        }
    try:
        event = from_http(lowered, body, data_unmarshaller=_raw)
    except GenericException as exc:
        raise InvalidEvent(str(exc)) from exc
    attributes = {
        name: attribute_string(value)
        for name, value in event.get_attributes().items()
        if value is not None
    }
    if binary:
        data = bytes(body)
        given = {name[3:] for name in lowered if name.startswith("ce-")}
    else:
        raw = _structured_object(body)
        data = _structured_data(raw, attributes)
        given = set(raw)
    if "time" not in given:
        attributes.pop("time", None)  # the SDK invents one; the broker must not
    return _checked(attributes, data, _trace_context(lowered, attributes))


def _raw(data: Any) -> Any:
    return data


def _structured_object(body: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidEvent(f"structured event is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("structured event must be a JSON object")
    return raw


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # JSON format 1.0, 3.1.1: absent means application/json
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def _structured_data(raw: Mapping[str, Any], attributes: dict[str, str]) -> bytes:
    """The data bytes a binary-mode delivery will carry for a structured-mode event."""
    attributes.pop("data_base64", None)
    if "data_base64" in raw:
        try:
            return base64.b64decode(raw["data_base64"], validate=True)
        except (binascii.Error, TypeError) as exc:
            raise InvalidEvent(f"data_base64 is not base64: {exc}") from exc
    if "data" not in raw or raw["data"] is None:
        return b""
    value = raw["data"]
    content_type = attributes.get("datacontenttype")
    if isinstance(value, str) and not _is_json(content_type):
        return value.encode("utf-8")
    attributes.setdefault("datacontenttype", "application/json")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _trace_context(headers: Mapping[str, str], attributes: dict[str, str]) -> dict[str, str]:
    """W3C trace context travels as HTTP headers; a `ce-traceparent` extension is dropped.

    eventing-rabbitmq overwrites the AMQP `traceparent` header with such an extension and
    drops it on delivery, so an extension only stands in when the header is absent.
    """
    trace: dict[str, str] = {}
    for name in TRACE_HEADERS:
        extension = attributes.pop(name, None)
        value = headers.get(name) or extension
        if value:
            trace[name] = value
    return trace


def _checked(attributes: dict[str, str], data: bytes, trace: dict[str, str]) -> Envelope:
    if attributes.get("specversion") != "1.0":
        raise InvalidEvent(
            f"only CloudEvents 1.0 is accepted, got specversion {attributes.get('specversion')!r}"
        )
    for name in REQUIRED_ATTRIBUTES:
        if not attributes.get(name):
            raise InvalidEvent(f"required attribute {name!r} is missing or empty")
    for name in attributes:
        if not _ATTRIBUTE_NAME.match(name):
            raise InvalidEvent(f"attribute name {name!r} is not lower-case letters and digits")
    return Envelope(attributes, data, trace)

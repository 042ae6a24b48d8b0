"""The CloudEvents 1.0 envelope as the project writes, publishes and receives it.

Binary mode on HTTP (attributes as `ce-*` headers, `data` as the JSON body), as Knative
delivers. Trace context is not an attribute: it travels as `traceparent`/`tracestate`
HTTP headers beside the event, as Knative Eventing does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_TYPE_PREFIX = "com.acougue."
PING_TYPE = "dev.knative.sources.ping"
_CORE = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema")
# CloudEvents: extension names are lower-case letters and digits, at most 20 characters.
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: str = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    extensions: dict[str, str] = Field(default_factory=dict)
    data: Any = None

    @field_validator("specversion")
    @classmethod
    def _v1(cls, value: str) -> str:
        if value != "1.0":
            raise ValueError("only CloudEvents specversion 1.0 is supported")
        return value

    @field_validator("extensions")
    @classmethod
    def _extension_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _EXTENSION_NAME.match(name) or name in _CORE or name == "data":
                raise ValueError(f"invalid extension attribute name {name!r}")
        return value

    @property
    def actor(self) -> str | None:
        return self.extensions.get("actor")

    def attributes(self) -> dict[str, str]:
        """Context attributes as strings (CloudEvents' canonical string encoding)."""
        attrs: dict[str, str] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "datacontenttype": self.datacontenttype,
        }
        if self.subject is not None:
            attrs["subject"] = self.subject
        if self.time is not None:
            attrs["time"] = self.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.dataschema is not None:
            attrs["dataschema"] = self.dataschema
        attrs.update(self.extensions)
        return attrs

    def binary_headers(self) -> dict[str, str]:
        headers = {f"ce-{k}": v for k, v in self.attributes().items() if k != "datacontenttype"}
        headers["content-type"] = self.datacontenttype
        return headers

    def body(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, Any], data: Any) -> Envelope:
        """Build from a flat attribute map (as the cloudevents SDK or a database row holds it)."""
        known = {k: attrs[k] for k in _CORE if attrs.get(k) is not None}
        extensions = {k: str(v) for k, v in attrs.items() if k not in _CORE and k != "data"}
        return cls(**known, extensions=extensions, data=data)


def new_envelope(
    *,
    type_: str,
    source: str,
    subject: str,
    data: dict[str, Any],
    actor: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    """A new event, dated now unless `time` says when it happened (an imported record)."""
    extensions = {"actor": actor} if actor else {}
    return Envelope(
        id=str(uuid.uuid4()),
        source=source,
        type=type_,
        subject=subject,
        time=time or datetime.now(UTC),
        extensions=extensions,
        data=data,
    )

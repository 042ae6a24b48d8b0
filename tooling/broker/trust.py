"""The broker's side of event authentication (Knative's OIDC and EventPolicy, locally).

Ingress: a publisher shows a token signed with its identity key for the Broker's audience;
the key says which function it is, and `shared.events.ownership` says what that function
may publish. Delivery: every POST to a subscriber or a dead-letter sink carries a token the
broker signs for that subscriber's audience; subscribers fetch the broker's public key from
`/.well-known/jwks.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.datastructures import Headers

from shared.auth.tokens import generate_private_key_pem, load_private_key
from shared.events import identity, ownership
from tooling.broker.envelope import Envelope
from tooling.broker.settings import BrokerSettings

# An event dated further ahead than this is forged or from a broken clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Publisher:
    function: str


class Gatekeeper:
    """Who is publishing (401 otherwise) and whether they may publish this event (403)."""

    def __init__(self, settings: BrokerSettings, namespace: str, broker: str) -> None:
        self._namespace = namespace
        self._keys: identity.IdentityKeys | None = None
        self._verifier: identity.TokenVerifier | None = None
        if settings.ingress_authentication == "required" and settings.publishers_file:
            keys = identity.IdentityKeys(json.loads(settings.publishers_file.read_text()))
            self._keys = keys
            self._verifier = identity.TokenVerifier(
                keys, audience=identity.broker_audience(namespace, broker)
            )

    async def publisher(self, headers: Headers) -> Publisher | None:
        """The authenticated publisher (None when authentication is off)."""
        if self._verifier is None or self._keys is None:
            return None
        try:
            verified = await self._verifier.verify(identity.bearer(headers))
        except identity.Unauthenticated as exc:
            raise Refused(401, f"publishers must prove which function they are: {exc}") from None
        function = self._keys.function(verified.kid)
        account = identity.service_account(self._namespace, function or "")
        if function is None or verified.subject != account or verified.issuer != account:
            raise Refused(401, "the token's subject is not the key's function")
        return Publisher(function)

    def admit(self, publisher: Publisher | None, event: Envelope) -> None:
        if publisher is not None:
            refusal = ownership.refusal(publisher.function, event.type, event.source)
            if refusal is not None:
                raise Refused(403, refusal)
        raw_time = event.attributes.get("time")
        if raw_time:
            try:
                moment = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
            except ValueError:
                raise Refused(400, f"time is not an RFC 3339 timestamp: {raw_time}") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            if moment > datetime.now(UTC) + MAX_CLOCK_SKEW:
                raise Refused(400, "the event's time is in the future")


def delivery_signer(settings: BrokerSettings) -> identity.TokenSigner:
    """Signs delivery tokens with the configured key, or a fresh one for this process."""
    pem = (
        settings.signing_key_file.read_text()
        if settings.signing_key_file is not None
        else generate_private_key_pem()
    )
    return identity.TokenSigner(load_private_key(pem), issuer=settings.token_issuer)

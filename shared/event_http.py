"""The HTTP client of event traffic: one POST and its answer, over kept-alive connections.
The broker delivers with it and functions publish with it (`shared.publisher`).

An event crossing HTTP is always the same exchange: a binary-mode POST whose headers and
body are ready, and an answer whose status and body are all the sender keeps. aiohttp's
client does that for about a quarter of httpx's CPU (2,000 POSTs to a local uvicorn, client
and server in one process: 1,011-1,055 µs each with httpx 0.28, 279-285 µs with aiohttp
3.14), which was most of the broker's CPU per sale (issue 16). No redirect is followed, as
Knative's dispatcher follows none.

A connection is reused only while the server keeps it: shared.server closes an idle one after
30 s (uvicorn's default elsewhere: 5 s) and a function that stops (scale to zero, a crash)
closes all of its, so idle connections are let go after 4 s, and a request whose kept
connection turns out closed before any answer is sent once more on a new one (subscribers
apply an event once, whatever the number of copies). Failures are named as httpx named them
(ConnectError, ReadTimeout, ...), which the dead letter's `knativeerrordata` carries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

# Below any server's keep-alive (uvicorn's default 5 s, ours 30 s): the client lets an idle
# connection go before the server does.
KEEPALIVE_SECONDS = 4.0
_FORBIDDEN = str.maketrans("", "", "\r\n\x00")


class NoAnswer(Exception):
    """The request got no complete answer: connecting, sending or reading failed, or the
    time ran out. The message says which (ConnectError, ConnectTimeout, ReadTimeout,
    ReadError, RemoteProtocolError, LocalProtocolError)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _checked(headers: dict[str, str]) -> dict[str, str]:
    """ASCII with no line break or NUL, as httpx required: never sent otherwise."""
    for name, value in headers.items():
        if value.translate(_FORBIDDEN) != value or name.translate(_FORBIDDEN) != name:
            raise NoAnswer(f"LocalProtocolError: header {name!r} holds a line break or NUL")
        if not (value.isascii() and name.isascii()):
            raise NoAnswer(f"LocalProtocolError: header {name!r} is not ASCII")
    return headers


class Client:
    """A session of kept-alive connections, made on first use inside the running loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, keepalive_timeout=KEEPALIVE_SECONDS, use_dns_cache=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def post(self, url: str, headers: dict[str, str], body: bytes, seconds: float) -> Answer:
        """POST `body` to `url` and return the answer; `NoAnswer` otherwise."""
        session = self._open()
        timeout = aiohttp.ClientTimeout(total=seconds, sock_connect=seconds)
        checked = _checked(headers)
        for attempt in (1, 2):
            try:
                async with session.post(
                    url, data=body, headers=checked, timeout=timeout, allow_redirects=False
                ) as answer:
                    return Answer(answer.status, await answer.read())
            except aiohttp.ServerDisconnectedError as exc:
                if attempt == 1:
                    continue  # a kept connection the server had closed: once more, anew
                raise NoAnswer(f"RemoteProtocolError: {exc}") from None
            except aiohttp.ConnectionTimeoutError:
                raise NoAnswer(f"ConnectTimeout: no connection within {seconds:g} s") from None
            except TimeoutError:
                raise NoAnswer(f"ReadTimeout: no answer within {seconds:g} s") from None
            except aiohttp.ClientConnectorError as exc:
                raise NoAnswer(f"ConnectError: {exc}") from None
            except aiohttp.ClientPayloadError as exc:
                raise NoAnswer(f"RemoteProtocolError: {exc}") from None
            except aiohttp.ClientResponseError as exc:  # a malformed answer
                raise NoAnswer(f"RemoteProtocolError: {exc.message}") from None
            except (aiohttp.ClientOSError, aiohttp.ClientError) as exc:
                raise NoAnswer(f"ReadError: {exc}") from None
            except ValueError as exc:  # refused before sending (e.g. a bad URL)
                raise NoAnswer(f"LocalProtocolError: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            await asyncio.sleep(0)  # let the connector close its transports

"""The HTTP client of event traffic: one POST and its answer, over kept-alive HTTP/1.1
connections, one pool per origin. The broker delivers with it and functions publish with
it (`shared.publisher`).

An event crossing HTTP is always the same exchange: a binary-mode POST whose headers and
body are ready, and an answer whose status and body are all the sender keeps. httpx spent
most of the broker's CPU around that (issue 16: its client, auth and redirect layers,
httpcore's pool and anyio streams, a socket write for the headers and another for the
body). This sends the request in one write and reads the answer with asyncio's streams;
what it does not do (redirects, cookies, proxies, HTTP/2) no delivery needs, as Knative's
dispatcher follows no redirect either. Header values must be ASCII, as httpx required.

A connection is reused only while the server keeps it: uvicorn closes an idle one after a
few seconds, and a function that stops (scale to zero, a crash) closes all of its. One
that the server closed while it sat idle is dropped before use; one it closed just as the
request went out fails before any byte of an answer, and the request is sent once more on
a new connection (subscribers apply an event once, whatever the number of copies).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

# Idle connections kept per origin; more concurrent deliveries than that open and close.
MAX_IDLE = 64
# An answer's head larger than this is no subscriber's (asyncio's StreamReader limit).
HEAD_LIMIT = 64 * 1024
_FORBIDDEN = str.maketrans("", "", "\r\n\x00")


class NoAnswer(Exception):
    """The request got no complete answer: connecting, sending or reading failed, or the
    time ran out. The message says which, for the dead letter's `knativeerrordata`, named
    as httpx named them before (ConnectError, ConnectTimeout, ReadTimeout, ReadError,
    RemoteProtocolError)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def kept(self) -> bool:
        """Still open on both sides: the server has not closed it while it sat idle."""
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


def _header_block(headers: dict[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        if value.translate(_FORBIDDEN) != value or name.translate(_FORBIDDEN) != name:
            raise NoAnswer(f"LocalProtocolError: header {name!r} holds a line break or NUL")
        lines.append(f"{name}: {value}\r\n")
    try:
        return "".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:
        raise NoAnswer(f"LocalProtocolError: a header value is not ASCII: {exc}") from None


class Origin:
    """Kept-alive connections to one scheme://host:port."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.authority = parts.netloc.rpartition("@")[2]
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._idle: list[_Connection] = []

    async def post(self, url: str, headers: dict[str, str], body: bytes, seconds: float) -> Answer:
        """POST `body` to `url` (of this origin) and return the answer; `NoAnswer` otherwise."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (
            f"POST {target} HTTP/1.1\r\nhost: {self.authority}\r\n"
            f"content-length: {len(body)}\r\n".encode("latin-1")
            + _header_block(headers)
            + b"\r\n"
            + body
        )
        connecting = [False]
        try:
            async with asyncio.timeout(seconds):
                return await self._exchange(request, connecting)
        except TimeoutError:
            kind = "ConnectTimeout" if connecting[0] else "ReadTimeout"
            raise NoAnswer(f"{kind}: no answer within {seconds:g} s") from None

    async def _exchange(self, request: bytes, connecting: list[bool]) -> Answer:
        while self._idle:
            connection = self._idle.pop()
            if not connection.kept:
                connection.close()
                continue
            try:
                return await self._send(connection, request)
            except _ClosedBeforeAnswer:
                continue  # closed by the server as the request went out: a new one
        connecting[0] = True
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._tls, limit=HEAD_LIMIT
            )
        except OSError as exc:
            raise NoAnswer(f"ConnectError: {exc}") from None
        connecting[0] = False
        try:
            return await self._send(_Connection(reader, writer), request)
        except _ClosedBeforeAnswer as exc:
            raise NoAnswer(str(exc)) from None

    async def _send(self, connection: _Connection, request: bytes) -> Answer:
        answered = False
        try:
            connection.writer.write(request)
            head = await connection.reader.readuntil(b"\r\n\r\n")
            answered = True
            status, keep, length, chunked = _parse_head(head)
            while 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
                head = await connection.reader.readuntil(b"\r\n\r\n")
                status, keep, length, chunked = _parse_head(head)
            body = await _read_body(connection.reader, status, length, chunked)
            if length is None and not chunked and status not in (204, 304):
                keep = False  # the body ended with the connection
        except asyncio.IncompleteReadError as exc:
            connection.close()
            if not answered and not exc.partial:
                raise _ClosedBeforeAnswer(
                    "RemoteProtocolError: the server closed the connection without an answer"
                ) from None
            raise NoAnswer("RemoteProtocolError: the connection closed mid-answer") from None
        except (OSError, asyncio.LimitOverrunError, ValueError) as exc:
            connection.close()
            kind = "ReadError" if isinstance(exc, OSError) else "RemoteProtocolError"
            if not answered and isinstance(exc, ConnectionError):
                raise _ClosedBeforeAnswer(f"{kind}: {exc}") from None
            raise NoAnswer(f"{kind}: {exc}") from None
        except BaseException:
            connection.close()  # cancelled or timed out mid-exchange: the stream is unusable
            raise
        if keep and len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()
        return Answer(status, body)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _ClosedBeforeAnswer(Exception):
    pass


def _parse_head(head: bytes) -> tuple[int, bool, int | None, bool]:
    """Status, whether the connection stays open, content-length, whether chunked."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    length: int | None = None
    chunked = False
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            if not value.isdigit():
                raise ValueError(f"bad content-length {value[:40]!r}")
            length = int(value)
        elif name == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif name == "connection":
            tokens = {token.strip().lower() for token in value.split(",")}
            keep = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    return int(code), keep, length, chunked


async def _read_body(
    reader: asyncio.StreamReader, status: int, length: int | None, chunked: bool
) -> bytes:
    if status in (204, 304) or 100 <= status < 200:
        return b""
    if chunked:
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if length is not None:
        return await reader.readexactly(length)
    return await reader.read()


class Client:
    """One `Origin` per scheme://host:port, made on first use."""

    def __init__(self) -> None:
        self._origins: dict[str, Origin] = {}

    async def post(self, url: str, headers: dict[str, str], body: bytes, seconds: float) -> Answer:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = Origin(url)
        return await origin.post(url, headers, body, seconds)

    async def aclose(self) -> None:
        origins, self._origins = list(self._origins.values()), {}
        for origin in origins:
            origin.close()

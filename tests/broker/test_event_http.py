"""The broker's delivery client against real sockets: keep-alive, a connection the server
closed, the shapes of an answer, and every way of getting none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.event_http import Client, NoAnswer
from tooling.serving import free_port, serving

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def test_posts_headers_and_body_and_keeps_the_connection() -> None:
    seen: list[tuple[dict[str, str], bytes, tuple[str, int]]] = []

    async def echo(request: Request) -> Response:
        client = request.client
        assert client is not None
        seen.append((dict(request.headers), await request.body(), (client.host, client.port)))
        return JSONResponse({"n": len(seen)}, status_code=202)

    app = Starlette(routes=[Route("/in", echo, methods=["POST"])])
    client = Client()
    async with serving(app) as base:
        first = await client.post(f"{base}/in", {"ce-id": "a%20b"}, b'{"x":1}', 5)
        second = await client.post(f"{base}/in?q=1", {"ce-id": "2"}, b"", 5)
    await client.aclose()
    assert (first.status, first.body) == (202, b'{"n":1}')
    assert second.status == 202
    assert seen[0][0]["ce-id"] == "a%20b"
    assert seen[0][1] == b'{"x":1}'
    assert seen[0][2] == seen[1][2]  # the same connection, kept alive


async def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    """uvicorn closes an idle connection after its keep-alive timeout."""
    app = Starlette(routes=[Route("/", lambda _: Response(status_code=200), methods=["POST"])])
    client = Client()
    port = free_port()
    async with serving(app, port=port) as base:
        assert (await client.post(base + "/", {}, b"", 5)).status == 200
        await asyncio.sleep(5.5)  # uvicorn's timeout_keep_alive is 5 s
        assert (await client.post(base + "/", {}, b"", 5)).status == 200
    await client.aclose()


async def test_a_connection_closed_as_the_request_goes_out_is_replaced() -> None:
    """The server answers without saying it will close, then closes on the next request
    without answering: the request is sent again on a new connection."""
    connections = 0

    async def once_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await _read_request(reader)
        writer.close()

    client = Client()
    async with raw_server(once_per_connection) as base:
        assert (await client.post(base + "/", {}, b"1", 5)).body == b"ok"
        assert (await client.post(base + "/", {}, b"2", 5)).body == b"ok"
    await client.aclose()
    assert connections == 2


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"abcde",
        ),
        (b"HTTP/1.1 500 Oops\r\nconnection: close\r\n\r\nall of it", b"all of it"),
        (b"HTTP/1.0 409 Conflict\r\n\r\nuntil the end", b"until the end"),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", b""),
    ],
)
async def test_answers_of_every_shape_are_read(answer: bytes, body: bytes) -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        if b"chunked" not in answer and b"204" not in answer:
            writer.close()

    client = Client()
    async with raw_server(reply) as base:
        got = await client.post(base + "/", {}, b"x", 5)
    await client.aclose()
    assert got.body == body
    assert got.status == int(answer.rsplit(b"HTTP/1.", 1)[1][2:5])


async def test_no_answer_is_named_as_the_dead_letter_records_it() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    client = Client()
    async with raw_server(silent) as base:
        with pytest.raises(NoAnswer, match=r"^ReadTimeout: no answer within 0.2 s"):
            await client.post(base + "/", {}, b"", 0.2)
    async with raw_server(hang_up) as base:
        with pytest.raises(NoAnswer, match=r"^RemoteProtocolError: "):
            await client.post(base + "/", {}, b"", 5)
    with pytest.raises(NoAnswer, match=r"^ConnectError: "):
        await client.post(f"http://127.0.0.1:{free_port()}/", {}, b"", 5)
    with pytest.raises(NoAnswer, match=r"^LocalProtocolError: "):
        await client.post(f"http://127.0.0.1:{free_port()}/", {"x": "a\r\nb: c"}, b"", 5)
    await client.aclose()
    with pytest.raises(NoAnswer, match=r"^LocalProtocolError: .* not ASCII"):
        await client.post(f"http://127.0.0.1:{free_port()}/", {"x": "açougue"}, b"", 5)
    await client.aclose()

"""A function's server keeps an idle connection longer than any of our clients does.

uvicorn's own keep-alive is 5 s, the same as httpx's idle expiry: a client could send a request
on a connection at the moment the server closed it and lose the request (CI saw the demo's seed
fail so). shared/server.py keeps idle connections 30 s; this proves, on a real server process,
that a connection idle for longer than 5 s still carries the next request."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port
from tooling.manifests import REPO_ROOT

FUNCTION = Path(__file__).with_name("idle_function.py")
CLIENT_IDLE_EXPIRY = 5.0  # httpx.Limits' default keepalive_expiry, the longest of our clients


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DD_TRACE_ENABLED": "false",
        "FUNCTION_TARGET": "answer",
        "FUNCTION_SOURCE": str(FUNCTION),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    env.pop("KEEPALIVE_SECONDS", None)
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.server"], env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the server did not start: {(tmp_path / 'server.log').read_text()}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_an_idle_connection_outlives_the_clients_expiry(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    connection.request("GET", "/")
    assert connection.getresponse().read()
    kept = connection.sock
    time.sleep(CLIENT_IDLE_EXPIRY + 1.5)
    connection.request("GET", "/")  # on the same socket: http.client reopens only a closed one
    answer = connection.getresponse()
    assert answer.status == 200, answer.status
    assert connection.sock is kept
    connection.close()

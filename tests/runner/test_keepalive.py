"""A function's server, and the gateway, keep an idle connection longer than any of our
clients does.

uvicorn's own keep-alive is 5 s, the same as httpx's idle expiry: a client could send a request
on a connection at the moment the server closed it and lose the request (CI saw the demo's seed
fail so). shared/server.py and the gateway keep idle connections 30 s; this proves, on real
server processes, that a connection idle for longer than 5 s still carries the next request."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.gateway.settings import REQUIRED_SERVICES
from tests.support.servers import free_port
from tests.support.system import wait_for
from tooling.manifests import REPO_ROOT

FUNCTION = Path(__file__).with_name("idle_function.py")
CLIENT_IDLE_EXPIRY = 5.0  # httpx.Limits' default keepalive_expiry, the longest of our clients


NOWHERE = "http://127.0.0.1:9"  # the gateway's upstreams: /healthz calls none of them
SERVERS = {
    "function": (
        "shared.server",
        {"FUNCTION_TARGET": "answer", "FUNCTION_SOURCE": str(FUNCTION)},
    ),
    "gateway": (
        "functions.gateway",
        {
            "AUTH_JWKS_URL": NOWHERE + "/.well-known/jwks.json",
            "GATEWAY_SERVICES": json.dumps(dict.fromkeys(REQUIRED_SERVICES, NOWHERE)),
        },
    ),
}


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    module, own = SERVERS[request.param]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("K_", "GATEWAY_"))},
        "PYTHONPATH": str(REPO_ROOT),
        "DD_TRACE_ENABLED": "false",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **own,
    }
    env.pop("KEEPALIVE_SECONDS", None)
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", module], env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )
    try:
        wait_for(lambda: _answers(port) or process.poll() is not None, timeout=30, interval=0.1)
        if process.poll() is not None:
            pytest.fail(f"the server did not start: {(tmp_path / 'server.log').read_text()}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _answers(port: int) -> bool:
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        probe.request("GET", "/healthz")
        return probe.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        probe.close()


def test_an_idle_connection_outlives_the_clients_expiry(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    connection.request("GET", "/healthz")
    first = connection.getresponse()
    assert first.status == 200
    first.read()  # the whole answer, so that the connection may carry the next request
    kept = connection.sock
    time.sleep(CLIENT_IDLE_EXPIRY + 1.5)
    # On the same socket: http.client opens a new one only when it closed the old itself.
    connection.request("GET", "/healthz")
    answer = connection.getresponse()
    assert answer.status == 200, answer.status
    assert connection.sock is kept
    connection.close()

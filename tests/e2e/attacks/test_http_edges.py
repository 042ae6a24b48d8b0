"""HTTP edges (issue 14): oversized bodies, anonymous bodies, security headers, the API's
documentation, CSV formula injection and a search for "²", through the gateway and
straight at a function. Each test fails on 5149426."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from functions.gateway.settings import REQUIRED_SERVICES
from tests.support.fixtures import system_fixture
from tests.support.system import RunningSystem, wait_for

MiB = 1024 * 1024
PROBLEM = "application/problem+json"
TODAY = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()


system = system_fixture("http-edges")


def _peak_rss(pid: int) -> int:
    """The process's high-water mark of resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), as a client that hides its size would."""
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def _post(url: str, **kwargs: object) -> httpx.Response:
    """A POST whose upload may be cut short by an early answer; the answer is what counts."""
    with httpx.Client(timeout=30) as client:
        return client.post(url, **kwargs)  # type: ignore[arg-type]


def _is_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["status"] == status


def test_an_anonymous_20_mb_body_costs_the_gateway_nothing(system: RunningSystem) -> None:
    """Before: ~163 MB of the gateway's memory, then 401. Now: 413 before a byte is read."""
    gateway = system.pid("gateway")
    before = _peak_rss(gateway)
    answer = _post(
        system.gateway + "/api/products",
        content=b"x" * (20 * MiB),
        headers={"Content-Type": "application/json"},
    )
    _is_problem(answer, 413)
    grown = _peak_rss(gateway) - before
    assert grown < 8 * MiB, f"the gateway's peak memory grew by {grown / MiB:.1f} MiB"


def test_a_chunked_anonymous_body_is_refused_before_it_is_read(system: RunningSystem) -> None:
    gateway = system.pid("gateway")
    before = _peak_rss(gateway)
    answer = _post(
        system.gateway + "/api/products",
        content=_chunks(20 * MiB),
        headers={"Content-Type": "application/json"},
    )
    _is_problem(answer, 401)
    assert _peak_rss(gateway) - before < 8 * MiB


def test_an_anonymous_body_is_not_parsed_before_the_401(system: RunningSystem) -> None:
    """Before: 422 (FastAPI parsed the body before the route's token check)."""
    for body in (b"{not json", b'{"name": 1}'):
        answer = httpx.post(
            system.gateway + "/api/products",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        _is_problem(answer, 401)


def test_a_chunked_body_past_the_limit_gets_413_even_with_a_token(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    answer = _post(
        system.gateway + "/api/products",
        content=_chunks(2 * MiB),
        headers={**admin, "Content-Type": "application/json"},
    )
    _is_problem(answer, 413)
    # A normal body still passes.
    ok = httpx.post(system.gateway + "/api/categories", json={"name": "Bovinos"}, headers=admin)
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_function_reads_no_body_past_its_limit(
    system: RunningSystem, admin: dict[str, str], chunked: bool
) -> None:
    """Straight at the function (no gateway in front): 413, not a 20 MB read and a 422."""
    body = _chunks(20 * MiB) if chunked else b"x" * (20 * MiB)
    function = system.pid("create-product")
    before = _peak_rss(function)
    answer = _post(
        system.url("create-product") + "/api/products",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    _is_problem(answer, 413)
    assert _peak_rss(function) - before < 8 * MiB
    # Anonymous: the token is checked first, and the body is never read.
    anonymous = _post(
        system.url("create-product") + "/api/products",
        content=_chunks(2 * MiB),
        headers={"Content-Type": "application/json"},
    )
    _is_problem(anonymous, 401)


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    "path", ["/api/products", "/api/nothing-here", "/static/css/app.css", "/docs"]
)
def test_security_headers_on_api_static_and_docs(system: RunningSystem, path: str) -> None:
    answer = httpx.get(system.gateway + path)
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (path, name, dict(answer.headers))
    assert answer.headers.get("referrer-policy") in ("same-origin", "no-referrer")
    assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")


def test_the_docs_are_not_served_under_knative(system: RunningSystem, tmp_path: Path) -> None:
    """A gateway started as Knative starts it (K_SERVICE set): /docs, /redoc and
    /openapi.json answer 404 problem+json; locally they stay on."""
    assert httpx.get(system.gateway + "/openapi.json").status_code == 200
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "K_SERVICE": "gateway",
        "AUTH_JWKS_URL": system.url("auth") + "/.well-known/jwks.json",
        "GATEWAY_SERVICES": _services_json(system),
        "DD_TRACE_ENABLED": "false",
    }
    env.pop("GATEWAY_PUBLIC_DOCS", None)
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "functions.gateway"],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base + "/healthz"))
        for path in ("/docs", "/redoc", "/openapi.json"):
            _is_problem(httpx.get(base + path), 404)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _services_json(system: RunningSystem) -> str:
    return json.dumps({name: system.url(name) for name in REQUIRED_SERVICES})


def test_search_for_a_superscript_digit_is_not_a_server_error(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    """Before: 500 ("²".isdigit() holds, int("²") raises)."""
    for q in ("²", "1²", "٣", "１２"):
        answer = httpx.get(system.gateway + "/api/products", params={"q": q}, headers=admin)
        assert answer.status_code == 200, (q, answer.status_code, answer.text)
        assert answer.json() == {"items": []}
    # Nor a whole-number query parameter written with one.
    limit = httpx.get(
        system.url("finance-report") + "/api/finance/entries",
        params={"limit": "²"},
        headers=admin,
    )
    _is_problem(limit, 422)


def test_csv_exports_neutralise_formulas_and_keep_negative_numbers(
    system: RunningSystem, admin: dict[str, str]
) -> None:
    attacks = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3"]
    for text in attacks:
        expense = httpx.post(
            system.gateway + "/api/finance/expenses",
            json={
                "category": "outras",
                "amount_cents": 1000,
                "description": text,
                "occurred_on": TODAY,
                "paid_with": "cash",
            },
            headers=admin,
        )
        assert expense.status_code == 201, expense.text

    def rows(path: str) -> list[list[str]]:
        answer = httpx.get(
            system.gateway + path, params={"from": TODAY, "to": TODAY}, headers=admin
        )
        assert answer.status_code == 200, answer.text
        return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))

    entries = rows("/api/finance/entries.csv")
    cells = [cell for row in entries for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], cells
    for text in attacks:
        assert any(c.endswith(text) and c.startswith("'") for c in cells), (text, cells)
    # The report's result is negative (expenses only): a number, not an escaped text.
    report = rows("/api/finance/report.csv")
    total = report[-1]
    assert total[0] == "total"
    assert re.fullmatch(r"-\d+,\d\d", total[-1]), total

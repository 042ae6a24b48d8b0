"""The UI's API client (functions/gateway/static/js/app.js) meeting a busy system, without
a browser: app.js runs under Node with a stand-in `fetch` that answers what the gateway
answers when it sheds a request (503, Retry-After, problem+json with code "overloaded";
functions/gateway/admission.py). The counter shows "Sistema ocupado" and may send the
same sale again; a read is asked once more after the Retry-After, and the POST is never
repeated by the client on its own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from functions.gateway.admission import shed_problem
from tests.support.components import require_tool

APP_JS = Path(__file__).resolve().parents[2] / "functions/gateway/static/js/app.js"

# Loads app.js in a context with just enough of a browser (the page boots on
# DOMContentLoaded, which never comes), then plays each case of ANSWERS and prints JSON.
_DRIVER = r"""
const fs = require("fs");
const vm = require("vm");
const cases = JSON.parse(process.argv[2]);
const delays = [];
let answers = [];
const sent = [];
const context = vm.createContext({
  window: {},
  document: { readyState: "loading", addEventListener() {}, getElementById() { return null; } },
  navigator: {},
  location: { pathname: "/caixa", search: "", replace() {} },
  setTimeout: (fn, ms) => { delays.push(ms); Promise.resolve().then(fn); return 0; },
  clearTimeout() {},
  fetch: async (path, init) => {
    sent.push(`${init.method} ${path}`);
    const [status, headers, body] = answers.shift();
    return new Response(body, { status, headers });
  },
});
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const A = context.window.Acougue;
(async () => {
  const results = [];
  for (const [method, path, given] of cases) {
    answers = given.slice();
    sent.length = 0;
    delays.length = 0;
    const result = { sent: [], delays: [] };
    try {
      result.value = await A.api(method, path, method === "POST" ? { body: {} } : {});
    } catch (err) {
      const busy = typeof A.busy === "function" ? A.busy(err) : null;
      result.error = { status: err.status, message: err.message, busy, retryAfter: err.retryAfter };
    }
    result.sent = sent.slice();
    result.delays = delays.slice();
    results.push(result);
  }
  console.log(JSON.stringify(results));
})();
"""


def _shed(seconds: int) -> list[Any]:
    problem = shed_problem("complete-sale", seconds)
    headers = {"content-type": "application/problem+json", **problem.headers}
    return [503, headers, json.dumps(problem.body())]


UNAVAILABLE = [
    503,
    {"content-type": "application/problem+json"},
    json.dumps({"status": 503, "detail": "The complete-sale function is unavailable; try again."}),
]
ITEMS = [200, {"content-type": "application/json"}, '{"items": []}']


@pytest.fixture(scope="module")
def played() -> list[dict[str, Any]]:
    node = require_tool("node")
    cases = [
        ["POST", "/api/sales", [_shed(2)]],
        ["GET", "/api/products", [_shed(2), ITEMS]],
        ["GET", "/api/products", [_shed(30), ITEMS]],
        ["POST", "/api/sales", [UNAVAILABLE]],
        ["GET", "/api/products", [UNAVAILABLE, ITEMS]],
    ]
    done = subprocess.run(
        [node, "-e", _DRIVER, str(APP_JS), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def test_a_shed_sale_says_the_system_is_busy_and_is_not_sent_again_on_its_own(
    played: list[dict[str, Any]],
) -> None:
    sale = played[0]
    assert sale["sent"] == ["POST /api/sales"]
    assert sale["error"] == {
        "status": 503,
        "message": "Sistema ocupado, tente novamente em instantes.",
        "busy": True,
        "retryAfter": 2,
    }


def test_a_shed_read_is_asked_again_after_its_retry_after_at_most_3_s(
    played: list[dict[str, Any]],
) -> None:
    for read, waited in ((played[1], 2000), (played[2], 3000)):
        assert read["sent"] == ["GET /api/products"] * 2
        assert read["value"] == {"items": []}
        assert waited in read["delays"]


def test_another_503_is_not_taken_for_a_busy_system(played: list[dict[str, Any]]) -> None:
    sale = played[3]
    assert sale["error"]["busy"] is False
    assert sale["error"]["message"] == "O serviço complete-sale não respondeu: tente de novo."
    assert 400 in played[4]["delays"]
    assert played[4]["value"] == {"items": []}

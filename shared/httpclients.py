"""What httpx clients (the gateway's, the token checks') need to be cheap per request.

httpcore asks which async library runs it on every request, and again on every response it
closes, with `import sniffio` inside the call (httpcore/_synchronization.py). sniffio is
optional and not installed here: an import that fails is not cached, so each ask searched
every `sys.path` entry anew, through ddtrace's import hooks too (≈ 7 % of the broker's CPU,
issue 16, before event traffic moved to `shared.event_http`). A `None` in `sys.modules` makes
that import fail at once, with the same answer (httpcore then assumes asyncio, which it
is). Were sniffio installed, nothing changes. Every process sets it up with its logging.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec


def remember_missing_sniffio() -> None:
    if "sniffio" not in sys.modules and find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


remember_missing_sniffio()

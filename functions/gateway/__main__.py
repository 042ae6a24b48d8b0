"""`python -m functions.gateway`: serve the gateway on HOST:PORT (Knative sets PORT)."""

from __future__ import annotations

import uvicorn

from shared.server import ListenSettings

if __name__ == "__main__":
    # The same keep-alive as the functions': longer than a client's idle expiry, so a
    # browser's or a script's request never goes out on a connection being closed.
    listen = ListenSettings()
    uvicorn.run(
        "functions.gateway.app:app",
        host=listen.host,
        port=listen.port,
        timeout_keep_alive=listen.keepalive_seconds,
        log_level="warning",
        proxy_headers=True,
    )
